export { ADMIN_URL, countingPool, freshDatabase } from "../src/testing/TestDatabase.js"
