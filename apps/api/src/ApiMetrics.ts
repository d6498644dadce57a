import { Context, Layer } from "effect"
import * as Metrics from "./Metrics.js"

export class ApiMetrics extends Context.Tag("@keys/api/ApiMetrics")<ApiMetrics, Metrics.Metrics>() {}

export const layer = Layer.sync(ApiMetrics, Metrics.make)
