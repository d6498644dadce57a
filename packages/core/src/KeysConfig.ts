/**
 * The core's settings, read once at start. `layerConfig` reads the contract's environment variables
 * and fails with one line naming the variable when a value is wrong.
 */
import { Config, ConfigError, Context, Duration, Effect, Either, Layer, Option } from "effect"
import * as DurationText from "./DurationText.js"
import * as KeyFormat from "./KeyFormat.js"
import * as Scope from "./Scope.js"

export interface Settings {
  readonly keyFormat: KeyFormat.KeyFormat
  /** Allowed product scopes; null accepts any well-formed scope. */
  readonly scopeCatalogue: ReadonlySet<string> | null
  readonly cacheTtl: Duration.Duration
  readonly cacheMaxEntries: number
  /**
   * How long after its invalidation feed drops an instance may still answer from its cache when the
   * store cannot answer (a database restart). Zero refuses instead (503): strict revocation even
   * when this instance is cut off from the database while others are not.
   */
  readonly cacheStaleIfError: Duration.Duration
  /** How long an unknown hash stays cached as a miss. */
  readonly negativeCacheTtl: Duration.Duration
  readonly usageFlushInterval: Duration.Duration
  /** Distinct keys the usage aggregator holds between flushes before it drops new ones. */
  readonly usageMaxPendingKeys: number
  readonly expiryThresholds: ReadonlyArray<Duration.Duration>
  readonly expiryScanEvery: Duration.Duration
}

export class KeysConfig extends Context.Tag("@keys/core/KeysConfig")<KeysConfig, Settings>() {}

export const defaults: Settings = {
  keyFormat: KeyFormat.defaultFormat,
  scopeCatalogue: null,
  cacheTtl: Duration.seconds(60),
  cacheMaxEntries: 100_000,
  cacheStaleIfError: Duration.seconds(30),
  negativeCacheTtl: Duration.seconds(5),
  usageFlushInterval: Duration.seconds(1),
  usageMaxPendingKeys: 100_000,
  expiryThresholds: [Duration.days(7), Duration.days(1), Duration.zero],
  expiryScanEvery: Duration.hours(1)
}

export const make = (overrides: Partial<Settings> = {}): Settings => ({ ...defaults, ...overrides })

export const layer = (overrides: Partial<Settings> = {}): Layer.Layer<KeysConfig> =>
  Layer.succeed(KeysConfig, make(overrides))

const durationText = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) =>
      Either.mapLeft(DurationText.parse(text), (message) => ConfigError.InvalidData([], message))
    )
  )

/** Accepts `60000` (milliseconds, as the contract's `_MS` variables) or a duration such as `60s`. */
const millisOrDuration = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      if (/^\d{1,12}$/.test(text.trim())) return Either.right(Duration.millis(Number(text.trim())))
      return Either.mapLeft(DurationText.parse(text), (message) => ConfigError.InvalidData([], message))
    })
  )

const keyFormat = Config.string("KEYS_KEY_FORMAT").pipe(
  Config.mapOrFail((name) => {
    const format = KeyFormat.presets[name.trim()]
    return format === undefined
      ? Either.left(
          ConfigError.InvalidData(
            [],
            `"${name}" is not a key format: use one of ${KeyFormat.presetNames.join(", ")}`
          )
        )
      : Either.right(format)
  })
)

const scopeCatalogue = Config.string("KEYS_SCOPES").pipe(
  Config.mapOrFail((text) => {
    const scopes = text
      .split(",")
      .map((scope) => scope.trim())
      .filter((scope) => scope.length > 0)
    const invalid = scopes.find((scope) => !Scope.isValid(scope) || Scope.isWildcard(scope))
    return invalid === undefined
      ? Either.right(new Set(scopes) as ReadonlySet<string>)
      : Either.left(ConfigError.InvalidData([], `"${invalid}" is not a valid scope`))
  })
)

const thresholds = Config.string("KEYS_EXPIRY_THRESHOLDS").pipe(
  Config.mapOrFail((text) =>
    Either.mapLeft(DurationText.parseList(text), (message) => ConfigError.InvalidData([], message))
  )
)

const positiveInt = (name: string) =>
  Config.integer(name).pipe(
    Config.validate({ message: "must be a positive integer", validation: (n) => n > 0 })
  )

/** The settings from the environment (contract section 5), defaults for what is unset. */
export const fromEnv: Config.Config<Settings> = Config.all({
  keyFormat: Config.withDefault(keyFormat, defaults.keyFormat),
  scopeCatalogue: Config.option(scopeCatalogue).pipe(Config.map(Option.getOrNull)),
  cacheTtl: Config.withDefault(millisOrDuration("KEYS_CACHE_TTL_MS"), defaults.cacheTtl),
  cacheMaxEntries: Config.withDefault(positiveInt("KEYS_CACHE_MAX"), defaults.cacheMaxEntries),
  cacheStaleIfError: Config.withDefault(
    millisOrDuration("KEYS_CACHE_STALE_IF_ERROR_MS"),
    defaults.cacheStaleIfError
  ),
  negativeCacheTtl: Config.succeed(defaults.negativeCacheTtl),
  usageFlushInterval: Config.withDefault(
    millisOrDuration("KEYS_USAGE_FLUSH_MS"),
    defaults.usageFlushInterval
  ),
  usageMaxPendingKeys: Config.succeed(defaults.usageMaxPendingKeys),
  expiryThresholds: Config.withDefault(thresholds, defaults.expiryThresholds),
  expiryScanEvery: Config.withDefault(durationText("KEYS_EXPIRY_SCAN_EVERY"), defaults.expiryScanEvery)
})

export const layerConfig: Layer.Layer<KeysConfig, ConfigError.ConfigError> = Layer.effect(
  KeysConfig,
  Effect.map(fromEnv, (settings) => settings)
)
