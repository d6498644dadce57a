import { render, screen } from "@testing-library/react"
import { userEvent } from "@testing-library/user-event"
import { useState } from "react"
import { describe, expect, it } from "vitest"
import { Dialog } from "../src/Dialog.js"

const Harness = () => {
  const [open, setOpen] = useState(false)
  return (
    <>
      <button type="button" onClick={() => setOpen(true)}>
        Open
      </button>
      {open ? (
        <Dialog title="Settings" description="Change things." onClose={() => setOpen(false)}>
          <input aria-label="First" />
          <button type="button">Last</button>
        </Dialog>
      ) : null}
    </>
  )
}

describe("Dialog", () => {
  it("is labelled, modal, and keeps focus inside with Tab and Shift+Tab", async () => {
    const user = userEvent.setup()
    render(<Harness />)
    await user.click(screen.getByRole("button", { name: "Open" }))
    const dialog = screen.getByRole("dialog", { name: "Settings" })
    expect(dialog.getAttribute("aria-modal")).toBe("true")
    expect(dialog.getAttribute("aria-describedby")).toBeTruthy()
    expect(document.activeElement).toBe(screen.getByLabelText("First"))
    await user.tab()
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Last" }))
    await user.tab()
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Close" }))
    await user.tab({ shift: true })
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Last" }))
  })

  it("closes on Escape and gives focus back to the opener", async () => {
    const user = userEvent.setup()
    render(<Harness />)
    const opener = screen.getByRole("button", { name: "Open" })
    await user.click(opener)
    await user.keyboard("{Escape}")
    expect(screen.queryByRole("dialog")).toBeNull()
    expect(document.activeElement).toBe(opener)
  })
})
