"""The browser side of the web app's tests: Debian's chromium driven by Playwright, and a test-only
EIP-1193 provider (`window.ethereum`) that signs with an anvil dev key.

The provider lives in the page; its eth_signTypedData_v4 calls come back to Python through a
function Playwright exposes, and Python signs with eth-account, so no key ever reaches the page.
Like a real wallet it answers eth_accounts with nothing until the site asked eth_requestAccounts
once (remembered per origin, as a wallet remembers a site it was connected to).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from eth_account import Account
from eth_account.signers.local import LocalAccount
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route, ViewportSize, sync_playwright

from energy_grid.domain.units import format_cents, format_money

from support.anvil_node import wait_until

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "reports" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",  # root on these machines
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 900}  # a laptop screen
PHONE_MAX_WIDTH = 600  # a viewport narrower than this is a phone's
PHONE_VIEWPORT = {"width": 390, "height": 844}  # a phone held upright (Playwright's iPhone 12-14 descriptors)
# Room for the follower's poll, a relayed transaction and the page's own poll interval.
UI_TIMEOUT_MS = 30_000
# The views' refresh in the tests: a change made on the chain (a report, a fill, a block indexed)
# shows within a fraction of a second, where the app's three seconds made most of a browser test's
# time a wait for the next refresh. A view then also refreshes while its own actions run, as it
# does now and then with the app's interval.
TEST_POLL_INTERVAL_MS = 250

# A minimal EIP-1193 provider; `__WALLET__` is replaced by {"address", "chainIdHex"}.
PROVIDER_SCRIPT = """
(() => {
  const wallet = __WALLET__;
  const AUTHORIZED = "test-wallet-authorized";
  const handlers = {};
  const emit = (event, value) => (handlers[event] || []).forEach((h) => h(value));
  const authorized = () => window.localStorage.getItem(AUTHORIZED) === wallet.address;
  window.ethereum = {
    isTestWallet: true,
    async request({ method, params }) {
      switch (method) {
        case "eth_requestAccounts":
          window.localStorage.setItem(AUTHORIZED, wallet.address);
          emit("connect", { chainId: wallet.chainIdHex });
          return [wallet.address];
        case "eth_accounts":
          return authorized() ? [wallet.address] : [];
        case "eth_chainId":
          return wallet.chainIdHex;
        case "net_version":
          return String(parseInt(wallet.chainIdHex, 16));
        case "eth_signTypedData_v4": {
          if (!authorized()) throw Object.assign(new Error("Unauthorized"), { code: 4100 });
          const [address, typedData] = params;
          if (address.toLowerCase() !== wallet.address.toLowerCase()) throw Object.assign(new Error("Unknown account"), { code: 4100 });
          return window.__testWalletSignTypedData(typeof typedData === "string" ? typedData : JSON.stringify(typedData));
        }
        default:
          throw Object.assign(new Error(`The test wallet does not support ${method}`), { code: 4200 });
      }
    },
    on(event, handler) { (handlers[event] = handlers[event] || []).push(handler); return this; },
    removeListener(event, handler) { handlers[event] = (handlers[event] || []).filter((h) => h !== handler); return this; },
  };
})();
"""


def shown_cents(amount: int, decimals: int, symbol: str) -> str:
    """Money as the prosumer view shows it: the package's rule (to the cent, half a cent up; under half
    a cent but not 0, "< 0.01"), which the web app's formatCents follows."""
    return format_cents(amount, decimals, symbol)


def shown_price(price_per_kwh: int, decimals: int, symbol: str) -> str:
    """A price per kWh as the prosumer view shows it: to its last digit that is not 0, at least to the cent."""
    whole, _, fraction = format_money(price_per_kwh, decimals).partition(".")
    fraction = fraction.rstrip("0").ljust(min(2, decimals), "0")
    return f"{whole}.{fraction} {symbol}/kWh" if fraction else f"{whole} {symbol}/kWh"


def open_section(page: Page, name: str) -> None:
    """Opens a part of the prosumer view from its line, as a finger taps it (on a phone they start closed).
    The line's figure arrives with the page's data and can move the line between the tap's aim and the
    tap on a loaded machine, so the part is tapped again for as long as it stays closed."""
    part = page.locator(f'details[data-section="{name}"]')

    def opened() -> bool:
        if part.get_attribute("open") is None:
            part.locator("summary").click()
        return part.get_attribute("open") is not None

    wait_until(opened, 30, f"the {name} part of the page to open")


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("Debian's chromium is not installed: run `make browser`")
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Debian chromium (Playwright's own browser download needs the internet)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class WalletSession:
    """One user's browser context, with the test wallet for `account` and the console errors of
    every page it opened."""

    context: BrowserContext
    account: LocalAccount | None
    base_url: str
    screenshot_dir: Path
    signed: list[dict[str, Any]] = field(default_factory=list)  # every typed data the wallet signed
    console_errors: list[str] = field(default_factory=list)
    # Console errors a test provokes on purpose (Chromium logs every 4xx answer to fetch as one).
    expected_errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        page = self.context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        page.goto(f"{self.base_url}{path}")
        # A view of the app (it has the app's header) is usable once its script has wired it.
        page.wait_for_function("() => !document.getElementById('app-header') || document.documentElement.dataset.ready === 'true'")
        return page

    def go_offline(self) -> list[str]:
        """Every request off the service's host fails from now on, as on a machine with no network;
        returns the list the refused addresses are collected in."""
        service_host = urlsplit(self.base_url).netloc
        blocked: list[str] = []

        def local_only(route: Route) -> None:
            if urlsplit(route.request.url).netloc == service_host:
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort("internetdisconnected")

        self.context.route("**/*", local_only)
        return blocked

    def screenshot(self, page: Page, view: str) -> Path:
        target = self.screenshot_dir / f"{view}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
        return target

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not any(expected in message.text for expected in self.expected_errors):
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def _sign(self, typed_data_json: str) -> str:
        assert self.account is not None
        typed_data = json.loads(typed_data_json)
        self.signed.append(typed_data)
        signed = Account.sign_typed_data(self.account.key, full_message=typed_data)
        return "0x" + signed.signature.hex().removeprefix("0x")


def wallet_session(
    browser: Browser,
    base_url: str,
    account: LocalAccount | None,
    chain_id: int,
    screenshot_dir: Path,
    viewport: dict[str, int] | None = None,
    timezone_id: str | None = None,
    poll_interval_ms: int | None = TEST_POLL_INTERVAL_MS,
) -> WalletSession:
    """A new browser context (its own storage, as another user's browser) with the test wallet for
    `account` injected into every page; without an account, a browser with no wallet. The screen is
    a laptop's unless `viewport` says otherwise; one narrower than a tablet is a phone's, with touch
    and a mobile browser's layout viewport, as Playwright's phone descriptors set them. The browser's
    own zone is the machine's unless `timezone_id` (an IANA name, "Asia/Tokyo") says otherwise.
    The views refresh every `poll_interval_ms` (None: the app's own interval, three seconds)."""
    viewport = viewport or VIEWPORT
    phone = viewport["width"] < PHONE_MAX_WIDTH
    context = browser.new_context(
        viewport=cast(ViewportSize, viewport),
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=3 if phone else 1,
        timezone_id=timezone_id,
    )
    session = WalletSession(context, account, base_url, screenshot_dir)
    if poll_interval_ms is not None:
        context.add_init_script(f"globalThis.energyGridPollIntervalMs = {int(poll_interval_ms)};")
    if account is not None:
        context.expose_function("__testWalletSignTypedData", session._sign)
        script = PROVIDER_SCRIPT.replace("__WALLET__", json.dumps({"address": account.address, "chainIdHex": hex(chain_id)}))
        context.add_init_script(script)
    return session

