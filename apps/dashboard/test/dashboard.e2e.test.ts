/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against the API
 * running in process on a fresh database, one user journey in order: sign in, create a scoped key
 * with an expiry, see its secret once, use it and watch "Last used", filter, roll, revoke, read the
 * history, sign out. Screenshots of the main screens go to test/screenshots/.
 */
import { mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { Browser, BrowserContext, Locator, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  browserMissing,
  type Credential,
  launchBrowser,
  request,
  type RunningApi,
  sleep,
  startApi
} from "./helpers.js"

const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url))
const KEY_PATTERN = /^sk_live_[0-9A-Za-z]{48}$/
const KEY_ANYWHERE = /sk_(live|test)_[0-9A-Za-z]{48}/

if (browserMissing !== undefined) {
  console.warn(`dashboard browser tests skipped: ${browserMissing}`)
}

describe.skipIf(browserMissing !== undefined)("dashboard in chromium", () => {
  let api: RunningApi
  let root: Credential
  let browser: Browser
  let context: BrowserContext
  let page: Page
  /** What the journey learns as it goes. */
  const journey: { secret?: string; keyId?: string; rolledSecret?: string; rolledId?: string } = {}

  const shot = (name: string) =>
    page.screenshot({ path: `${SCREENSHOTS}${name}.png`, animations: "disabled", scale: "css" })

  const row = (keyId: string): Locator => page.locator(`tr[data-key-id="${keyId}"]`)

  /** Everything the page's script could read: storage, readable cookies. */
  const browserStorage = () =>
    page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookies: document.cookie
    }))

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true })
    api = await startApi()
    root = await api.rootKey()
    browser = await launchBrowser()
    context = await browser.newContext({ viewport: { width: 1180, height: 640 }, deviceScaleFactor: 1 })
    page = await context.newPage()
    page.setDefaultTimeout(15_000)
  })

  afterAll(async () => {
    await browser?.close()
    await api?.close()
  })

  it("signs in with a root key; the session lives in an HttpOnly cookie, the key nowhere", async () => {
    await page.goto(`${api.url}/dashboard`)
    const field = page.getByLabel("Root key", { exact: true })
    await field.waitFor()
    await shot("sign-in")

    await field.fill("sk_live_wrong")
    await page.getByRole("button", { name: "Sign in" }).click()
    await expect.poll(() => page.getByRole("alert").textContent()).toContain("not valid")

    await field.fill(root.key)
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.getByRole("heading", { name: "API keys" }).waitFor()
    await row(root.id).waitFor()

    const cookies = await context.cookies()
    expect(cookies).toHaveLength(1)
    expect(cookies[0]).toMatchObject({
      name: "keys_session",
      httpOnly: true,
      sameSite: "Strict",
      path: "/dashboard"
    })
    expect(cookies[0]!.value).not.toContain(root.key)
    const storage = await browserStorage()
    expect(storage.cookies).toBe("")
    expect(JSON.stringify(storage)).not.toContain(root.key)
    expect(await page.content()).not.toContain(root.key)
  })

  it("shows the empty state for filters with no match", async () => {
    await page.getByLabel("Environment").selectOption("test")
    await page.getByText("No keys match these filters.").waitFor()
    await page.getByRole("button", { name: "Show all keys" }).click()
    await row(root.id).waitFor()
  })

  it("creates a scoped key with an expiry and shows its secret once", async () => {
    await page.getByRole("button", { name: "Create key" }).click()
    const dialog = page.getByRole("dialog", { name: "Create an API key" })
    await dialog.getByLabel("Name").fill("Sending service")
    await dialog.getByLabel("Chosen scopes").check()
    await dialog.getByLabel("Scopes", { exact: true }).fill("emails:send, read")
    await dialog.getByLabel(/Resources/).fill("example.com")
    await dialog.getByLabel("Expires").selectOption({ label: "7 days" })
    await shot("create")
    await dialog.getByRole("button", { name: "Create key" }).click()

    const panel = page.getByRole("alertdialog", { name: /Your new key for “Sending service”/ })
    await panel.waitFor()
    await expect.poll(() => panel.textContent()).toContain("It will not be shown again")
    const secret = await panel.getByLabel("Secret key").inputValue()
    expect(secret).toMatch(KEY_PATTERN)
    journey.secret = secret
    await shot("secret")

    // The copy button puts it on the clipboard; the panel says so.
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: api.url })
    await panel.getByRole("button", { name: "Copy" }).click()
    await panel.getByRole("button", { name: "Copied" }).waitFor()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret)
    await page.evaluate(() => navigator.clipboard.writeText(""))

    await panel.getByRole("button", { name: /I have stored it/ }).click()
    await panel.waitFor({ state: "detached" })
    expect(await page.content()).not.toContain(secret)

    const listed = await request(api.url, "GET", "/v1/keys", { key: root.key })
    const created = listed.json.data.find((key: { name: string }) => key.name === "Sending service")
    journey.keyId = created.id
    expect(created).toMatchObject({ scopes: ["emails:send", "read"], resources: ["example.com"] })
    const days = (Date.parse(created.expiresAt) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(6.9)
    expect(days).toBeLessThanOrEqual(7)

    const line = row(created.id)
    await line.waitFor()
    expect(await line.textContent()).toContain("sk_live_")
    expect(await line.textContent()).toContain("emails:send")
    expect(await line.textContent()).toContain("in 7 days")
    expect(await line.textContent()).toContain("Expires soon")
    expect(await line.locator('[data-column="last-used"]').textContent()).toBe("Never")

    await page.reload()
    await row(created.id).waitFor()
    expect(await page.content()).not.toContain(secret)
    expect(JSON.stringify(await browserStorage())).not.toMatch(KEY_ANYWHERE)
  })

  it("verifies that key through the API and sees Last used update", async () => {
    const verified = await request(api.url, "POST", "/v1/keys/verify", {
      key: root.key,
      body: { key: journey.secret, scopes: ["emails:send"], resource: "example.com" }
    })
    expect(verified.json).toMatchObject({ valid: true, code: "valid" })
    const lastUsed = row(journey.keyId!).locator('[data-column="last-used"]')
    await expect
      .poll(
        async () => {
          await page.getByRole("button", { name: "Refresh" }).click()
          await sleep(300)
          return lastUsed.textContent()
        },
        { timeout: 10_000, interval: 200 }
      )
      .toBe("just now")
    await shot("keys")
  })

  it("filters expired and revoked keys", async () => {
    const expiring = await request(api.url, "POST", "/v1/keys", {
      key: root.key,
      body: { name: "Contractor", expiresAt: new Date(Date.now() + 1_500).toISOString() }
    })
    const revoked = await request(api.url, "POST", "/v1/keys", {
      key: root.key,
      body: { name: "Old CI", environment: "test" }
    })
    await request(api.url, "DELETE", `/v1/keys/${revoked.json.id}`, { key: root.key })
    await sleep(1_600)

    await page.getByLabel("Status").selectOption("expired")
    await row(expiring.json.id).waitFor()
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1)
    expect(await row(expiring.json.id).textContent()).toContain("Expired")
    await shot("filter-expired")

    await page.getByLabel("Status").selectOption("revoked")
    await row(revoked.json.id).waitFor()
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1)
    expect(await row(revoked.json.id).textContent()).toContain("Revoked")

    await page.getByLabel("Status").selectOption("all")
    await page.getByLabel("Environment").selectOption("test")
    await row(revoked.json.id).waitFor()
    await expect.poll(() => page.locator("tbody tr").count()).toBe(1)
    await page.getByLabel("Environment").selectOption("all")
    await row(journey.keyId!).waitFor()
  })

  it("rolls the key with a grace period: both keys work until it ends", async () => {
    await row(journey.keyId!).getByRole("button", { name: "Roll Sending service" }).click()
    const dialog = page.getByRole("dialog", { name: "Roll “Sending service”" })
    await dialog.getByLabel("After 1 hour").check()
    await shot("roll")
    await dialog.getByRole("button", { name: "Roll key" }).click()
    const panel = page.getByRole("alertdialog", { name: /Your new key/ })
    await panel.waitFor()
    expect(await panel.textContent()).toContain("The previous key stops working in 1 hour.")
    const rolled = await panel.getByLabel("Secret key").inputValue()
    expect(rolled).toMatch(KEY_PATTERN)
    expect(rolled).not.toBe(journey.secret)
    journey.rolledSecret = rolled
    await panel.getByRole("button", { name: /I have stored it/ }).click()
    await panel.waitFor({ state: "detached" })

    await expect.poll(() => row(journey.keyId!).textContent()).toContain("in 1 hour")
    expect(await row(journey.keyId!).textContent()).toContain("Expires soon")
    for (const key of [journey.secret, rolled]) {
      const verified = await request(api.url, "POST", "/v1/keys/verify", { key: root.key, body: { key } })
      expect(verified.json.valid).toBe(true)
    }
    const listed = await request(api.url, "GET", "/v1/keys", { key: root.key })
    journey.rolledId = listed.json.data.find(
      (key: { name: string; id: string }) => key.name === "Sending service" && key.id !== journey.keyId
    ).id
    await row(journey.rolledId!).waitFor()
  })

  it("revokes the old key after a confirmation that shows its last use", async () => {
    const oldRow = row(journey.keyId!)
    await oldRow.getByRole("button", { name: "Revoke Sending service" }).click()
    const dialog = page.getByRole("alertdialog", { name: "Revoke “Sending service”?" })
    await dialog.waitFor()
    expect(await dialog.getByTestId("revoke-last-used").textContent()).toMatch(/just now|minute/)
    expect(await dialog.textContent()).toContain("used in the last 24 hours")
    // Cancel has the focus: Enter right away does not revoke.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel")
    await shot("revoke")
    await page.keyboard.press("Escape")
    await dialog.waitFor({ state: "detached" })
    expect(
      (await request(api.url, "POST", "/v1/keys/verify", { key: root.key, body: { key: journey.secret } }))
        .json.valid
    ).toBe(true)

    await oldRow.getByRole("button", { name: "Revoke Sending service" }).click()
    await page.getByRole("button", { name: "Revoke key" }).click()
    await dialog.waitFor({ state: "detached" })
    await expect.poll(() => oldRow.getAttribute("data-status")).toBe("revoked")
    await page.getByText("Revoked key “Sending service”.").waitFor()
    const refused = await request(api.url, "POST", "/v1/keys/verify", {
      key: root.key,
      body: { key: journey.secret }
    })
    expect(refused.json).toMatchObject({ valid: false, code: "invalid_api_key" })
    const stillGood = await request(api.url, "POST", "/v1/keys/verify", {
      key: root.key,
      body: { key: journey.rolledSecret }
    })
    expect(stillGood.json.valid).toBe(true)
  })

  it("shows the key's history and the team's", async () => {
    await row(journey.keyId!).getByRole("button", { name: "History of Sending service" }).click()
    const dialog = page.getByRole("dialog", { name: "History of “Sending service”" })
    const items = dialog.getByRole("listitem").filter({ has: page.locator(".keys-history-head") })
    await expect.poll(() => items.count()).toBe(3)
    expect(await items.nth(0).textContent()).toContain("Revoked")
    expect(await items.nth(1).textContent()).toContain("Rolled")
    expect(await items.nth(1).textContent()).toContain("1 hour")
    expect(await items.nth(2).textContent()).toContain("Created")
    expect(await items.nth(2).textContent()).toContain("emails:send, read")
    expect(await dialog.textContent()).toContain(`by ${root.id}`)
    expect(await dialog.textContent()).not.toMatch(KEY_ANYWHERE)
    await shot("history")
    await page.keyboard.press("Escape")
    await dialog.waitFor({ state: "detached" })

    await page.getByRole("button", { name: "History", exact: true }).click()
    const team = page.getByRole("list", { name: "Team history" })
    await team.waitFor()
    expect(
      await team
        .getByRole("listitem")
        .filter({ has: page.locator(".keys-history-head") })
        .count()
    ).toBeGreaterThan(5)
    await page.getByRole("button", { name: "Keys", exact: true }).click()
    await row(journey.keyId!).waitFor()
  })

  it("signs out, and a 401 later sends the user back to sign-in", async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await page.getByLabel("Root key", { exact: true }).waitFor()
    await page.getByText("You are signed out.").waitFor()
    // The browser commits the cookie's removal on its own schedule: poll for it.
    await expect.poll(async () => (await context.cookies()).length).toBe(0)
    await page.reload()
    await page.getByLabel("Root key", { exact: true }).waitFor()

    // Signed in again, then the root key is revoked elsewhere: the next call answers 401.
    const other = await api.rootKey()
    await page.getByLabel("Root key", { exact: true }).fill(other.key)
    await page.getByRole("button", { name: "Sign in" }).click()
    await row(journey.rolledId!).waitFor()
    await request(api.url, "DELETE", `/v1/keys/${other.id}`, { key: root.key })
    await page.getByRole("button", { name: "Refresh" }).click()
    await page.getByText("Your session has ended. Sign in again to continue.").waitFor()
    await page.getByLabel("Root key", { exact: true }).waitFor()
  })
})
