/**
 * The application service: create, read, list, update, revoke, roll and verify keys.
 *
 * Verification follows the hot path of the design: parse → hash → cache → store on a miss (with a
 * short negative entry) → team → revoked → expired → scopes → resource → usage recorded in memory.
 * When the cache answers, the whole verification is synchronous (`verifyCached`), so an HTTP layer
 * can answer without entering the Effect runtime.
 */
import {
  Context,
  Deferred,
  Duration,
  Effect,
  Either,
  Exit,
  FiberId,
  Layer,
  Option,
  Redacted,
  Schema,
  Stream
} from "effect"
import {
  type ApiKey,
  type ApiKeyRecord,
  type CreatedKey,
  CreateKeyInput,
  type Environment,
  type KeyStatus,
  toApiKey,
  UpdateKeyInput
} from "./ApiKey.js"
import type { AuditAction, AuditEvent } from "./AuditEvent.js"
import * as Cursor from "./Cursor.js"
import { InvalidInput, invalidInputFromParseError, KeyNotFound, type StoreUnavailable } from "./Errors.js"
import { randomBase62 } from "./internal/base62.js"
import { containsSecretLike } from "./Redaction.js"
import { type InvalidationEvent, Invalidations } from "./Invalidations.js"
import { KeyCache } from "./KeyCache.js"
import * as KeyCacheModule from "./KeyCache.js"
import * as KeyFormat from "./KeyFormat.js"
import { KeyHasher } from "./KeyHasher.js"
import { type KeyPatch, KeyRepository } from "./KeyRepository.js"
import { KeysConfig } from "./KeysConfig.js"
import * as Scope from "./Scope.js"
import { SecureRandom } from "./SecureRandom.js"
import { UsageRecorder } from "./UsageRecorder.js"
import * as UsageRecorderModule from "./UsageRecorder.js"
import type { UsageSink } from "./UsageSink.js"
import * as Verification from "./Verification.js"

/** Who makes a change, for the audit log. */
export interface Actor {
  readonly keyId: string | null
}

export const system: Actor = { keyId: null }

export interface CreateKeyRequest extends Omit<CreateKeyInput, "teamId"> {
  readonly teamId: string
}

export interface ListKeysRequest {
  readonly teamId: string
  readonly status?: KeyStatus | undefined
  readonly environment?: Environment | undefined
  readonly expiringWithin?: Duration.DurationInput | undefined
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

export interface ListAuditRequest {
  readonly teamId: string
  readonly keyId?: string | undefined
  readonly limit?: number | undefined
  readonly cursor?: string | undefined
}

export interface KeyPage {
  readonly data: ReadonlyArray<ApiKey>
  readonly nextCursor: string | null
}

export interface AuditPage {
  readonly data: ReadonlyArray<AuditEvent>
  readonly nextCursor: string | null
}

export interface VerificationStats {
  readonly cacheHits: number
  readonly cacheMisses: number
  /** Answers from a cached record while the store could not be reached and invalidations were down. */
  readonly staleHits: number
  readonly outcomes: Readonly<Record<Verification.VerificationCode, number>>
}

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100
export const MAX_GRACE_PERIOD = Duration.days(30)
/** While the store is failing and invalidations are down, how long cached records answer before the store is tried again. */
export const STORE_RETRY_MILLIS = 1_000

export class ApiKeys extends Context.Tag("@keys/core/ApiKeys")<
  ApiKeys,
  {
    readonly create: (
      request: CreateKeyRequest,
      actor?: Actor
    ) => Effect.Effect<CreatedKey, InvalidInput | StoreUnavailable>
    readonly get: (teamId: string, id: string) => Effect.Effect<ApiKey, KeyNotFound | StoreUnavailable>
    readonly list: (request: ListKeysRequest) => Effect.Effect<KeyPage, InvalidInput | StoreUnavailable>
    readonly update: (
      teamId: string,
      id: string,
      patch: UpdateKeyInput,
      actor?: Actor
    ) => Effect.Effect<ApiKey, KeyNotFound | InvalidInput | StoreUnavailable>
    /** Idempotent: revoking a revoked key answers it unchanged. */
    readonly revoke: (
      teamId: string,
      id: string,
      actor?: Actor
    ) => Effect.Effect<ApiKey, KeyNotFound | StoreUnavailable>
    /**
     * Issues a replacement with the same settings; the old key stops working after the grace
     * period (at once when it is zero).
     */
    readonly roll: (
      teamId: string,
      id: string,
      options?: { readonly gracePeriod?: Duration.DurationInput },
      actor?: Actor
    ) => Effect.Effect<CreatedKey, KeyNotFound | InvalidInput | StoreUnavailable>
    readonly verify: (
      token: Redacted.Redacted<string>,
      options?: Verification.VerifyOptions
    ) => Effect.Effect<Verification.Verification, StoreUnavailable>
    /** The verification when the cache can answer it synchronously; undefined means call `verify`. */
    readonly verifyCached: (
      token: string,
      options?: Verification.VerifyOptions
    ) => Verification.Verification | undefined
    readonly listAudit: (
      request: ListAuditRequest
    ) => Effect.Effect<AuditPage, InvalidInput | StoreUnavailable>
    readonly stats: () => VerificationStats
  }
>() {}

const validateCreate = Schema.validateEither(CreateKeyInput)
const validateUpdate = Schema.validateEither(UpdateKeyInput)

export const make = Effect.gen(function* () {
  const repository = yield* KeyRepository
  const cache = yield* KeyCache
  const usage = yield* UsageRecorder
  const hasher = yield* KeyHasher
  const random = yield* SecureRandom
  const settings = yield* KeysConfig
  const clock = yield* Effect.clock
  const format = settings.keyFormat
  const cacheTtlMillis = Duration.toMillis(settings.cacheTtl)
  const staleIfErrorMillis = Duration.toMillis(settings.cacheStaleIfError)
  const negativeTtlMillis = Math.min(Duration.toMillis(settings.negativeCacheTtl), cacheTtlMillis)

  const now = (): Date => new Date(clock.unsafeCurrentTimeMillis())
  const newId = (prefix: string): string => `${prefix}_${randomBase62(16, random.nextBytes)}`

  // --- verification -------------------------------------------------------------------------
  const outcomes: Record<Verification.VerificationCode, number> = {
    valid: 0,
    invalid_api_key: 0,
    key_expired: 0,
    insufficient_scope: 0,
    resource_not_allowed: 0
  }
  let cacheHits = 0
  let cacheMisses = 0
  let staleHits = 0
  // False between a `Lost` and the `Reset` that follows it: invalidations may be missed, so a
  // cached record is only a fallback for when the store cannot answer.
  let synchronized = true
  let lostAtMillis = 0
  // While unsynchronized, a store failure lets cached records answer directly until this time,
  // so an outage is not probed by every request.
  let storeDownUntilMillis = 0
  /** Unsynchronized for no longer than the stale-if-error allowance (`KEYS_CACHE_STALE_IF_ERROR_MS`). */
  const mayServeStale = (nowMillis: number): boolean => nowMillis - lostAtMillis < staleIfErrorMillis
  // Bumped by every eviction: a store read that started before one must not refill the cache
  // with what may be the pre-change record.
  let invalidationEpoch = 0
  const inflight = new Map<string, Deferred.Deferred<Option.Option<ApiKeyRecord>, StoreUnavailable>>()

  const conclude = (
    record: ApiKeyRecord | null,
    nowMillis: number,
    options: Verification.VerifyOptions | undefined
  ): Verification.Verification => {
    const result = record === null ? Verification.invalid : Verification.decide(record, nowMillis, options)
    outcomes[result.code]++
    if (result.key !== undefined) usage.record(result.key.id, nowMillis)
    return result
  }

  const rejectMalformed = (): Verification.Verification => {
    outcomes.invalid_api_key++
    return Verification.invalid
  }

  const verifyCached: ApiKeys["Type"]["verifyCached"] = (token, options) => {
    if (Either.isLeft(KeyFormat.parse(format, token))) return rejectMalformed()
    const nowMillis = clock.unsafeCurrentTimeMillis()
    const cached = cache.get(hasher.sha256Hex(token), nowMillis)
    if (cached === undefined) return undefined
    if (synchronized) cacheHits++
    else if (nowMillis < storeDownUntilMillis && mayServeStale(nowMillis)) staleHits++
    else return undefined
    return conclude(cached, nowMillis, options)
  }

  /**
   * The store failed. A record still cached may answer (while synchronized it would have answered
   * anyway; while unsynchronized only now, and only within the stale-if-error allowance), and the
   * store is left alone for `STORE_RETRY_MILLIS`.
   */
  const staleFallback = (
    hash: string,
    error: StoreUnavailable,
    options: Verification.VerifyOptions | undefined
  ): Effect.Effect<Verification.Verification, StoreUnavailable> => {
    const nowMillis = clock.unsafeCurrentTimeMillis()
    storeDownUntilMillis = nowMillis + STORE_RETRY_MILLIS
    if (!synchronized && !mayServeStale(nowMillis)) return Effect.fail(error)
    const cached = cache.get(hash, nowMillis)
    if (cached === undefined) return Effect.fail(error)
    staleHits++
    return Effect.succeed(conclude(cached, nowMillis, options))
  }

  const load = (hash: string): Effect.Effect<Option.Option<ApiKeyRecord>, StoreUnavailable> =>
    Effect.suspend(() => {
      const pending = inflight.get(hash)
      if (pending !== undefined) return Deferred.await(pending)
      const deferred = Deferred.unsafeMake<Option.Option<ApiKeyRecord>, StoreUnavailable>(FiberId.none)
      inflight.set(hash, deferred)
      const epoch = invalidationEpoch
      return repository.findByHash(hash).pipe(
        Effect.exit,
        Effect.flatMap((exit) => {
          inflight.delete(hash)
          if (Exit.isSuccess(exit) && epoch === invalidationEpoch) {
            const nowMillis = clock.unsafeCurrentTimeMillis()
            Option.match(exit.value, {
              onNone: () => cache.set(hash, null, nowMillis + negativeTtlMillis),
              onSome: (record) => cache.set(hash, record, nowMillis + cacheTtlMillis)
            })
          }
          return Effect.zipRight(Deferred.done(deferred, exit), exit)
        }),
        Effect.uninterruptible
      )
    })

  const verify: ApiKeys["Type"]["verify"] = (token, options) =>
    Effect.suspend(() => {
      const plaintext = Redacted.value(token)
      const answered = verifyCached(plaintext, options)
      if (answered !== undefined) return Effect.succeed(answered)
      cacheMisses++
      const hash = hasher.sha256Hex(plaintext)
      return Effect.matchEffect(load(hash), {
        onFailure: (error) => staleFallback(hash, error, options),
        onSuccess: (found) =>
          Effect.succeed(conclude(Option.getOrNull(found), clock.unsafeCurrentTimeMillis(), options))
      })
    })

  const evict = (hash: string): void => {
    invalidationEpoch++
    cache.evict(hash)
  }

  // --- management ---------------------------------------------------------------------------
  const audit = (
    action: AuditAction,
    record: { readonly teamId: string; readonly id: string },
    actor: Actor,
    at: Date,
    changes: Record<string, unknown>
  ): AuditEvent => ({
    id: newId("evt"),
    teamId: record.teamId,
    keyId: record.id,
    action,
    actorKeyId: actor.keyId,
    at,
    changes
  })

  const checkScopes = (
    scopes: ReadonlyArray<string> | null | undefined
  ): Effect.Effect<void, InvalidInput> => {
    if (scopes == null || settings.scopeCatalogue === null) return Effect.void
    const unknown = Scope.notInCatalogue(scopes, settings.scopeCatalogue)
    return unknown === undefined
      ? Effect.void
      : Effect.fail(
          new InvalidInput({
            field: "scopes",
            message: `scopes: "${unknown}" is not a known scope (allowed: ${[...settings.scopeCatalogue].join(", ")})`
          })
        )
  }

  const checkExpiry = (expiresAt: Date | null | undefined, at: Date): Effect.Effect<void, InvalidInput> =>
    expiresAt != null && expiresAt.getTime() <= at.getTime()
      ? Effect.fail(new InvalidInput({ field: "expiresAt", message: "expiresAt: must be in the future" }))
      : Effect.void

  const mint = (
    teamId: string,
    fields: {
      readonly name: string
      readonly environment: Environment
      readonly scopes: ReadonlyArray<string> | null
      readonly resources: ReadonlyArray<string> | null
      readonly metadata: ApiKeyRecord["metadata"]
      readonly expiresAt: Date | null
      readonly rolledFrom: string | null
    },
    at: Date
  ): Either.Either<{ record: ApiKeyRecord; secret: string }, InvalidInput> => {
    const prefix = KeyFormat.prefixFor(format, fields.environment, fields.scopes !== null)
    if (prefix === undefined) {
      return Either.left(
        new InvalidInput({
          field: "environment",
          message: `environment: the "${format.name}" key format has no ${fields.environment} keys (use ${KeyFormat.environments(format).join(" or ")})`
        })
      )
    }
    const secret = KeyFormat.generate(format, prefix, random.nextBytes)
    const record: ApiKeyRecord = {
      id: newId("key"),
      teamId,
      name: fields.name,
      hash: hasher.sha256Hex(secret),
      prefix,
      start: KeyFormat.start(secret, prefix),
      environment: fields.environment,
      scopes: fields.scopes,
      resources: fields.resources,
      metadata: fields.metadata,
      createdAt: at,
      expiresAt: fields.expiresAt,
      revokedAt: null,
      lastUsedAt: null,
      rolledFrom: fields.rolledFrom,
      replacedBy: null
    }
    return Either.right({ record, secret })
  }

  const create: ApiKeys["Type"]["create"] = (request, actor = system) =>
    Effect.gen(function* () {
      const input = yield* Either.mapLeft(validateCreate(request), (error) =>
        invalidInputFromParseError(error)
      )
      const at = now()
      yield* checkScopes(input.scopes)
      yield* checkExpiry(input.expiresAt, at)
      const { record, secret } = yield* mint(
        request.teamId,
        {
          name: input.name,
          environment: input.environment ?? "live",
          scopes: input.scopes == null ? null : Scope.normalize(input.scopes),
          resources: input.resources == null ? null : [...new Set(input.resources)],
          metadata: input.metadata ?? null,
          expiresAt: input.expiresAt ?? null,
          rolledFrom: null
        },
        at
      )
      yield* repository.insert(
        record,
        audit("key.created", record, actor, at, {
          name: record.name,
          environment: record.environment,
          scopes: record.scopes,
          resources: record.resources,
          expiresAt: record.expiresAt?.toISOString() ?? null,
          metadata: record.metadata
        })
      )
      // A negative entry for this hash (a token tried before it existed) must not outlive creation.
      evict(record.hash)
      return { key: toApiKey(record, at.getTime()), secret: Redacted.make(secret) }
    })

  // An id that looks like a secret (a key pasted where its id belongs) is never echoed.
  const echoable = (id: string) => KEY_ID.test(id) && !containsSecretLike(id)
  const notFound = (id: string) =>
    new KeyNotFound({
      keyId: echoable(id) ? id : "",
      message: echoable(id) ? `No key ${id} in this team.` : "No such key in this team."
    })
  /** Ids this service mints; anything else cannot exist, so the store is never asked. */
  const KEY_ID = /^[A-Za-z0-9_]{1,100}$/
  const known = <A, E, R>(
    id: string,
    lookup: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | KeyNotFound, R> => (KEY_ID.test(id) ? lookup : Effect.fail(notFound(id)))

  const get: ApiKeys["Type"]["get"] = (teamId, id) =>
    known(id, repository.findById(teamId, id)).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.fail(notFound(id)),
          onSome: (record) => Effect.succeed(toApiKey(record, clock.unsafeCurrentTimeMillis()))
        })
      )
    )

  const pageLimit = (limit: number | undefined): Effect.Effect<number, InvalidInput> => {
    if (limit === undefined) return Effect.succeed(DEFAULT_PAGE_SIZE)
    return Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE
      ? Effect.succeed(limit)
      : Effect.fail(
          new InvalidInput({
            field: "limit",
            message: `limit: must be an integer from 1 to ${MAX_PAGE_SIZE}`
          })
        )
  }

  const decodeCursor = (
    cursor: string | undefined
  ): Effect.Effect<Cursor.Position | undefined, InvalidInput> =>
    cursor === undefined
      ? Effect.succeed(undefined)
      : Either.match(Cursor.decode(cursor), {
          onLeft: () =>
            Effect.fail(
              new InvalidInput({ field: "cursor", message: "cursor: not a cursor this API returned" })
            ),
          onRight: (position) => Effect.succeed(position)
        })

  const list: ApiKeys["Type"]["list"] = (request) =>
    Effect.gen(function* () {
      const limit = yield* pageLimit(request.limit)
      const after = yield* decodeCursor(request.cursor)
      const at = now()
      const expiringBefore =
        request.expiringWithin === undefined
          ? undefined
          : new Date(at.getTime() + Duration.toMillis(Duration.decode(request.expiringWithin)))
      const page = yield* repository.list({
        teamId: request.teamId,
        now: at,
        status: request.status,
        environment: request.environment,
        expiringBefore,
        limit,
        after
      })
      const last = page.items.at(-1)
      return {
        data: page.items.map((record) => toApiKey(record, at.getTime())),
        nextCursor:
          page.hasMore && last !== undefined ? Cursor.encode({ at: last.createdAt, id: last.id }) : null
      }
    })

  const update: ApiKeys["Type"]["update"] = (teamId, id, patch, actor = system) =>
    Effect.gen(function* () {
      const input = yield* Either.mapLeft(validateUpdate(patch), (error) => invalidInputFromParseError(error))
      const at = now()
      yield* checkScopes(input.scopes)
      yield* checkExpiry(input.expiresAt, at)
      const changes: { -readonly [K in keyof KeyPatch]: KeyPatch[K] } = {}
      if (input.name !== undefined) changes.name = input.name
      if (input.scopes !== undefined)
        changes.scopes = input.scopes === null ? null : Scope.normalize(input.scopes)
      if (input.resources !== undefined)
        changes.resources = input.resources === null ? null : [...new Set(input.resources)]
      if (input.expiresAt !== undefined) changes.expiresAt = input.expiresAt
      if (input.metadata !== undefined) changes.metadata = input.metadata
      if (Object.keys(changes).length === 0) return yield* get(teamId, id)
      const updated = yield* known(
        id,
        repository.update(
          teamId,
          id,
          changes,
          audit("key.updated", { teamId, id }, actor, at, {
            ...changes,
            ...(changes.expiresAt !== undefined
              ? { expiresAt: changes.expiresAt?.toISOString() ?? null }
              : {})
          })
        )
      )
      if (Option.isNone(updated)) return yield* notFound(id)
      evict(updated.value.hash)
      return toApiKey(updated.value, at.getTime())
    })

  const revoke: ApiKeys["Type"]["revoke"] = (teamId, id, actor = system) =>
    Effect.gen(function* () {
      const at = now()
      const result = yield* known(
        id,
        repository.revoke(
          teamId,
          id,
          at,
          audit("key.revoked", { teamId, id }, actor, at, { revokedAt: at.toISOString() })
        )
      )
      if (Option.isNone(result)) return yield* notFound(id)
      evict(result.value.key.hash)
      return toApiKey(result.value.key, at.getTime())
    })

  const roll: ApiKeys["Type"]["roll"] = (teamId, id, options, actor = system) =>
    Effect.gen(function* () {
      const gracePeriod = Duration.decode(options?.gracePeriod ?? Duration.zero)
      if (Duration.greaterThan(gracePeriod, MAX_GRACE_PERIOD)) {
        return yield* new InvalidInput({
          field: "gracePeriodSeconds",
          message: "gracePeriodSeconds: must be at most 30 days"
        })
      }
      const at = now()
      const previous = yield* known(id, repository.findById(teamId, id))
      if (Option.isNone(previous)) return yield* notFound(id)
      const old = previous.value
      const { record, secret } = yield* mint(
        teamId,
        {
          name: old.name,
          environment: old.environment,
          scopes: old.scopes,
          resources: old.resources,
          metadata: old.metadata,
          expiresAt: old.expiresAt,
          rolledFrom: old.id
        },
        at
      )
      const previousEndsAt = new Date(at.getTime() + Duration.toMillis(gracePeriod))
      const result = yield* repository.roll({
        teamId,
        id,
        now: at,
        replacement: record,
        previousEndsAt,
        audit: audit("key.rolled", old, actor, at, {
          replacedBy: record.id,
          gracePeriodSeconds: Duration.toSeconds(gracePeriod),
          previousEndsAt: previousEndsAt.toISOString()
        })
      })
      if (Option.isNone(result)) return yield* notFound(id)
      if (result.value._tag === "NotRollable") {
        return yield* new InvalidInput({
          field: "id",
          message: "id: only an active key that was not rolled before can be rolled"
        })
      }
      evict(result.value.previous.hash)
      evict(record.hash)
      return { key: toApiKey(result.value.replacement, at.getTime()), secret: Redacted.make(secret) }
    })

  const listAudit: ApiKeys["Type"]["listAudit"] = (request) =>
    Effect.gen(function* () {
      const limit = yield* pageLimit(request.limit)
      const after = yield* decodeCursor(request.cursor)
      if (request.keyId !== undefined && !KEY_ID.test(request.keyId)) {
        return yield* new InvalidInput({ field: "keyId", message: "keyId: not a key id (key_…)" })
      }
      const page = yield* repository.listAudit({ teamId: request.teamId, keyId: request.keyId, limit, after })
      const last = page.items.at(-1)
      return {
        data: page.items,
        nextCursor: page.hasMore && last !== undefined ? Cursor.encode({ at: last.at, id: last.id }) : null
      }
    })

  const service = ApiKeys.of({
    create,
    get,
    list,
    update,
    revoke,
    roll,
    verify,
    verifyCached,
    listAudit,
    stats: () => ({ cacheHits, cacheMisses, staleHits, outcomes: { ...outcomes } })
  })
  const onInvalidation = (event: InvalidationEvent): void => {
    switch (event._tag) {
      case "KeyChanged":
        return evict(event.hash)
      case "Lost":
        if (synchronized) lostAtMillis = clock.unsafeCurrentTimeMillis()
        synchronized = false
        return
      case "Reset":
        invalidationEpoch++
        cache.clear()
        synchronized = true
        storeDownUntilMillis = 0
        return
    }
  }
  return { service, onInvalidation }
})

/**
 * The service, with a fiber that applies invalidations from other instances to this one's cache
 * for as long as the layer lives.
 */
export const layer: Layer.Layer<
  ApiKeys,
  never,
  KeyRepository | KeyCache | UsageRecorder | KeyHasher | SecureRandom | KeysConfig | Invalidations
> = Layer.scoped(
  ApiKeys,
  Effect.gen(function* () {
    const { service, onInvalidation } = yield* make
    const invalidations = yield* Invalidations
    const events = yield* invalidations.subscribe
    yield* events.pipe(
      Stream.runForEach((event) => Effect.sync(() => onInvalidation(event))),
      Effect.forkScoped
    )
    return service
  })
)

/**
 * The service with its in-process companions (cache sized from config, usage recorder and its
 * flush loop). What remains to provide are the adapters: store, invalidations, usage sink, platform.
 */
export const layerWithCompanions: Layer.Layer<
  ApiKeys | KeyCache | UsageRecorder,
  never,
  KeyRepository | KeyHasher | SecureRandom | KeysConfig | Invalidations | UsageSink
> = layer.pipe(Layer.provideMerge(Layer.merge(KeyCacheModule.layerFromConfig, UsageRecorderModule.layer)))
