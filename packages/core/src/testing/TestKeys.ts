/**
 * Everything `ApiKeys` needs, in memory: for tests of the core and of platform teams' own services.
 */
import { Layer } from "effect"
import * as ApiKeys from "../ApiKeys.js"
import * as Invalidations from "../Invalidations.js"
import type { KeyCache } from "../KeyCache.js"
import { KeyRepository } from "../KeyRepository.js"
import * as KeysConfig from "../KeysConfig.js"
import { KeyHasherLive } from "../node/index.js"
import * as SecureRandom from "../SecureRandom.js"
import type { UsageRecorder } from "../UsageRecorder.js"
import * as UsageSink from "../UsageSink.js"
import * as InMemoryKeyRepository from "./InMemoryKeyRepository.js"

export interface TestKeysOptions {
  readonly settings?: Partial<KeysConfig.Settings>
  /** Share one store (and its invalidations) between several service instances. */
  readonly repository?: InMemoryKeyRepository.InMemoryKeyRepository
  readonly invalidations?: Invalidations.Invalidations["Type"]
}

export const layer = (
  options: TestKeysOptions = {}
): Layer.Layer<ApiKeys.ApiKeys | KeyCache | UsageRecorder | KeyRepository | Invalidations.Invalidations> => {
  const invalidations = options.invalidations
  const repository =
    options.repository ?? InMemoryKeyRepository.make(invalidations === undefined ? {} : { invalidations })
  const stores = Layer.merge(
    Layer.succeed(KeyRepository, repository),
    invalidations === undefined
      ? Invalidations.layerInProcess
      : Layer.succeed(Invalidations.Invalidations, invalidations)
  )
  return ApiKeys.layerWithCompanions.pipe(
    Layer.provideMerge(UsageSink.layerDirect),
    Layer.provideMerge(stores),
    Layer.provide(Layer.mergeAll(KeyHasherLive, SecureRandom.layer, KeysConfig.layer(options.settings)))
  )
}
