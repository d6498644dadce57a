import { render, screen, waitFor, within } from "@testing-library/react"
import { userEvent } from "@testing-library/user-event"
import { describe, expect, it, vi } from "vitest"
import { KeysApiError } from "../src/KeysAdapter.js"
import { KeysManager } from "../src/KeysManager.js"
import { KeysProvider } from "../src/KeysProvider.js"
import { fakeAdapter, iso, key, now, SECRET } from "./fixtures.js"

const DAY = 86_400_000

const renderManager = (adapter: ReturnType<typeof fakeAdapter>["adapter"], onUnauthorized = vi.fn()) =>
  render(
    <KeysProvider adapter={adapter} now={now} onUnauthorized={onUnauthorized}>
      <KeysManager scopeOptions={["send", "read"]} />
    </KeysProvider>
  )

const rowOf = (name: string) => screen.getByRole("rowheader", { name }).closest("tr") as HTMLTableRowElement

describe("KeysManager", () => {
  it("shows the loading state, then every column with relative times and the expiring-soon mark", async () => {
    const { adapter } = fakeAdapter([
      key(),
      key({
        id: "key_2",
        name: "CI",
        start: "sk_test_9Zk1",
        environment: "test",
        scopes: ["send", "read"],
        expiresAt: iso(6 * DAY),
        lastUsedAt: null
      })
    ])
    renderManager(adapter)
    expect(screen.getByText("Loading keys…")).toBeTruthy()
    const production = await screen.findByRole("rowheader", { name: "Production" })
    const row = production.closest("tr") as HTMLTableRowElement
    expect(within(row).getByText("sk_live_3xaQ…")).toBeTruthy()
    expect(within(row).getByText("Full access")).toBeTruthy()
    expect(within(row).getByText("3 minutes ago")).toBeTruthy()
    expect(within(row).getByText("1 month ago")).toBeTruthy()
    const ci = rowOf("CI")
    expect(within(ci).getByText("Test")).toBeTruthy()
    expect(within(ci).getByText("send")).toBeTruthy()
    expect(within(ci).getByText("in 6 days")).toBeTruthy()
    expect(within(ci).getByText("Expires soon")).toBeTruthy()
    expect(within(ci).getByText("Never")).toBeTruthy()
    const headers = screen.getAllByRole("columnheader").map((cell) => cell.textContent)
    expect(headers.slice(0, 8)).toEqual([
      "Name",
      "Key",
      "Environment",
      "Scopes",
      "Status",
      "Created",
      "Expires",
      "Last used"
    ])
  })

  it("loads once even when the host passes inline callbacks", async () => {
    const { adapter, calls } = fakeAdapter([key()])
    const view = render(
      <KeysProvider adapter={adapter} now={() => now()} onUnauthorized={() => undefined}>
        <KeysManager />
      </KeysProvider>
    )
    await screen.findByRole("rowheader", { name: "Production" })
    view.rerender(
      <KeysProvider adapter={adapter} now={() => now()} onUnauthorized={() => undefined}>
        <KeysManager />
      </KeysProvider>
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(calls.list).toHaveLength(1)
  })

  it("filters by status and environment through the adapter", async () => {
    const user = userEvent.setup()
    const { adapter, calls } = fakeAdapter([
      key(),
      key({ id: "key_2", name: "Old", status: "revoked", revokedAt: iso(-DAY) })
    ])
    renderManager(adapter)
    await screen.findByRole("rowheader", { name: "Old" })
    await user.selectOptions(screen.getByLabelText("Status"), "revoked")
    await waitFor(() => expect(screen.queryByRole("rowheader", { name: "Production" })).toBeNull())
    expect(screen.getByRole("rowheader", { name: "Old" })).toBeTruthy()
    expect(calls.list.at(-1)).toMatchObject({ status: "revoked" })
    await user.selectOptions(screen.getByLabelText("Environment"), "test")
    expect(await screen.findByText("No keys match these filters.")).toBeTruthy()
    expect(calls.list.at(-1)).toMatchObject({ status: "revoked", environment: "test" })
    await user.selectOptions(screen.getByLabelText("Status"), "expiring")
    expect(calls.list.at(-1)).toMatchObject({ status: "active", expiringWithin: "7d" })
    await user.click(screen.getByRole("button", { name: "Show all keys" }))
    await screen.findByRole("rowheader", { name: "Production" })
    expect(calls.list.at(-1)).toMatchObject({ status: undefined, environment: undefined })
  })

  it("has an empty state that leads to the create form", async () => {
    const user = userEvent.setup()
    const { adapter } = fakeAdapter([])
    renderManager(adapter)
    await user.click(await screen.findByRole("button", { name: "Create your first key" }))
    expect(screen.getByRole("dialog", { name: "Create an API key" })).toBeTruthy()
    expect(document.activeElement).toBe(screen.getByLabelText("Name"))
  })

  it("shows the API's message on error, retries, and hands a 401 to onUnauthorized", async () => {
    const user = userEvent.setup()
    const onUnauthorized = vi.fn()
    const failing = fakeAdapter([], {
      failWith: new KeysApiError(503, "service_unavailable", "The database is not answering.")
    })
    const view = renderManager(failing.adapter, onUnauthorized)
    const alert = await screen.findByRole("alert")
    expect(alert.textContent).toContain("The database is not answering.")
    await user.click(within(alert).getByRole("button", { name: "Try again" }))
    await waitFor(() => expect(failing.calls.list).toHaveLength(2))
    expect(onUnauthorized).not.toHaveBeenCalled()
    view.unmount()

    const signedOut = fakeAdapter([], {
      failWith: new KeysApiError(401, "invalid_session", "Sign in again.")
    })
    renderManager(signedOut.adapter, onUnauthorized)
    await waitFor(() => expect(onUnauthorized).toHaveBeenCalledTimes(1))
  })

  it("creates a scoped key with an expiry, shows the secret once, and drops it on close", async () => {
    const user = userEvent.setup()
    const { adapter, calls } = fakeAdapter([])
    renderManager(adapter)
    await user.click(await screen.findByRole("button", { name: "Create key" }))
    const dialog = screen.getByRole("dialog", { name: "Create an API key" })
    await user.type(within(dialog).getByLabelText("Name"), "Sending service")
    await user.click(within(dialog).getByLabelText("Test"))
    await user.click(within(dialog).getByLabelText("Chosen scopes"))
    await user.click(within(dialog).getByLabelText("send"))
    await user.type(within(dialog).getByLabelText("Other scopes"), "emails:send, send")
    await user.type(within(dialog).getByLabelText(/Resources/), "example.com")
    await user.selectOptions(within(dialog).getByLabelText("Expires"), "30")
    await user.click(within(dialog).getByRole("button", { name: "Create key" }))

    expect(calls.create).toEqual([
      {
        name: "Sending service",
        environment: "test",
        scopes: ["send", "emails:send"],
        resources: ["example.com"],
        expiresAt: iso(30 * DAY)
      }
    ])
    const panel = await screen.findByRole("alertdialog", { name: /Your new key/ })
    expect((within(panel).getByLabelText("Secret key") as HTMLInputElement).value).toBe(SECRET)
    expect(panel.textContent).toContain("will not be shown again")
    expect(document.activeElement).toBe(within(panel).getByRole("button", { name: "Copy" }))

    await user.click(within(panel).getByRole("button", { name: "Copy" }))
    expect(await navigator.clipboard.readText()).toBe(SECRET)
    expect(within(panel).getByRole("button", { name: "Copied" })).toBeTruthy()

    // Escape does not dismiss the secret by accident: it needs the explicit button.
    await user.keyboard("{Escape}")
    expect(screen.getByRole("alertdialog")).toBeTruthy()
    await user.click(within(panel).getByRole("button", { name: /I have stored it/ }))
    expect(screen.queryByRole("alertdialog")).toBeNull()
    expect(document.body.innerHTML).not.toContain(SECRET)
    expect(await screen.findByRole("rowheader", { name: "Sending service" })).toBeTruthy()
    expect(screen.getByText("Created key “Sending service”.")).toBeTruthy()
  })

  it("validates the form before sending and shows the server's message", async () => {
    const user = userEvent.setup()
    const { adapter, calls } = fakeAdapter([])
    renderManager(adapter)
    await user.click(await screen.findByRole("button", { name: "Create key" }))
    const dialog = screen.getByRole("dialog")
    await user.click(within(dialog).getByLabelText("Chosen scopes"))
    await user.click(within(dialog).getByRole("button", { name: "Create key" }))
    expect(within(dialog).getByText("Enter a name, such as Production or CI.")).toBeTruthy()
    expect(within(dialog).getByText("Choose at least one scope, or pick Full access.")).toBeTruthy()
    expect(within(dialog).getByLabelText("Name").getAttribute("aria-invalid")).toBe("true")
    expect(calls.create).toHaveLength(0)

    await user.click(within(dialog).getByLabelText("Full access"))
    await user.type(within(dialog).getByLabelText("Name"), "taken")
    await user.click(within(dialog).getByRole("button", { name: "Create key" }))
    expect((await within(dialog).findByRole("alert")).textContent).toBe("name: is already used")
    expect(calls.create[0]).toMatchObject({ name: "taken", scopes: null, resources: null, expiresAt: null })
  })

  it("confirms a revoke with the key's last use, Cancel focused first", async () => {
    const user = userEvent.setup()
    const { adapter, calls } = fakeAdapter([key()])
    renderManager(adapter)
    const revokeButton = await screen.findByRole("button", { name: "Revoke Production" })
    await user.click(revokeButton)
    const dialog = screen.getByRole("alertdialog", { name: "Revoke “Production”?" })
    expect(within(dialog).getByTestId("revoke-last-used").textContent).toBe("3 minutes ago")
    expect(dialog.textContent).toContain("used in the last 24 hours")
    expect(document.activeElement).toBe(within(dialog).getByRole("button", { name: "Cancel" }))
    await user.keyboard("{Escape}")
    expect(screen.queryByRole("alertdialog")).toBeNull()
    expect(document.activeElement).toBe(revokeButton)
    expect(calls.revoke).toHaveLength(0)

    await user.click(revokeButton)
    await user.click(screen.getByRole("button", { name: "Revoke key" }))
    await waitFor(() => expect(screen.queryByRole("alertdialog")).toBeNull())
    expect(calls.revoke).toEqual(["key_1"])
    await waitFor(() => expect(rowOf("Production").getAttribute("data-status")).toBe("revoked"))
    expect(screen.queryByRole("button", { name: "Revoke Production" })).toBeNull()
  })

  it("says when a key was never used before revoking it", async () => {
    const user = userEvent.setup()
    const { adapter } = fakeAdapter([key({ lastUsedAt: null })])
    renderManager(adapter)
    await user.click(await screen.findByRole("button", { name: "Revoke Production" }))
    expect(screen.getByTestId("revoke-last-used").textContent).toBe("Never used")
    expect(screen.getByRole("alertdialog").textContent).not.toContain("used in the last 24 hours")
  })

  it("rolls with the chosen grace period and shows the new secret", async () => {
    const user = userEvent.setup()
    const { adapter, calls } = fakeAdapter([key()])
    renderManager(adapter)
    await user.click(await screen.findByRole("button", { name: "Roll Production" }))
    const dialog = screen.getByRole("dialog", { name: "Roll “Production”" })
    const options = within(dialog)
      .getAllByRole("radio")
      .map((radio) => radio.closest("label")?.textContent)
    expect(options).toEqual(["Now", "After 1 hour", "After 24 hours", "After 7 days"])
    expect((within(dialog).getByLabelText("After 24 hours") as HTMLInputElement).checked).toBe(true)
    await user.click(within(dialog).getByLabelText("After 7 days"))
    await user.click(within(dialog).getByRole("button", { name: "Roll key" }))
    expect(calls.roll).toEqual([{ id: "key_1", gracePeriodSeconds: 604_800 }])
    const panel = await screen.findByRole("alertdialog", { name: /Your new key/ })
    expect(panel.textContent).toContain("The previous key stops working in 7 days.")
    expect((within(panel).getByLabelText("Secret key") as HTMLInputElement).value).toMatch(/^sk_live_B{48}$/)
  })

  it("shows a key's history from the audit log", async () => {
    const user = userEvent.setup()
    const { adapter, calls } = fakeAdapter([key()], {
      events: [
        {
          id: "evt_2",
          teamId: "team_1",
          keyId: "key_1",
          action: "key.rolled",
          actorKeyId: "key_root",
          at: iso(-60_000),
          changes: { replacedBy: "key_9", gracePeriodSeconds: 86_400 }
        },
        {
          id: "evt_1",
          teamId: "team_1",
          keyId: "key_1",
          action: "key.created",
          actorKeyId: null,
          at: iso(-30 * DAY),
          changes: { name: "Production", scopes: null }
        }
      ]
    })
    renderManager(adapter)
    await user.click(await screen.findByRole("button", { name: "History of Production" }))
    const dialog = screen.getByRole("dialog", { name: "History of “Production”" })
    const items = await within(dialog).findAllByRole("listitem")
    expect(calls.audit.at(-1)).toMatchObject({ keyId: "key_1" })
    expect(items[0]!.textContent).toContain("Rolled")
    expect(items[0]!.textContent).toContain("1 minute ago")
    expect(items[0]!.textContent).toContain("by key_root")
    expect(items[0]!.textContent).toContain("1 day")
    expect(items[1]!.textContent).toContain("Created")
    expect(items[1]!.textContent).toContain("full access")
    expect(items[1]!.textContent).toContain("by the system")
  })
})
