import { InMemoryKeyRepository } from "../src/testing/index.js"
import { keyRepositorySuite } from "../src/testing/KeyRepositorySuite.js"

keyRepositorySuite("in-memory", InMemoryKeyRepository.layer)
