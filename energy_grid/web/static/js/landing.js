// The landing page: open your own household (connect the wallet), watch a sample one (a household
// that owns a meter, read only), how to become one; the four views and what the service runs against.
import { $, api, connectWallet, h, live, onWalletChange, pageReady, query, shortAddress, startPage, wallet } from "./common.js";

const SAMPLES = 3;
const METERS_LOOKED_AT = 100; // the newest meters: enough to find a few different owners

const cfg = await startPage();

function showMine() {
  const connected = Boolean(wallet.account);
  $("#start-connect").hidden = connected;
  $("#open-mine").hidden = !connected;
  $("#mine-state").textContent = connected
    ? `Connected as ${shortAddress(wallet.account)}.`
    : "Connect the wallet that owns your meter to see your household and trade from it.";
}

$("#start-connect").addEventListener("click", async () => {
  await connectWallet();
  if (wallet.account) window.location.assign("/prosumer");
});
onWalletChange(showMine);
showMine();

// A few households that own meters, each once, newest meter first.
function showSamples(meters) {
  const owners = [...new Map(meters.map((m) => [m.owner.toLowerCase(), m])).values()].slice(0, SAMPLES);
  const list = $("#samples");
  if (!owners.length) {
    list.replaceChildren(h("li", { class: "muted" }, "No household has a meter on this grid yet."));
    return;
  }
  list.replaceChildren(...owners.map((m) => h("li", {},
    h("a", { href: `/prosumer${query({ account: m.owner })}`, title: m.owner, dataset: { testid: "sample-household", account: m.owner } },
      `Household ${shortAddress(m.owner)}, region ${m.regionId}`))));
}

live(async () => {
  const [status, meters] = await Promise.all([api("/index/status"), api(`/meters${query({ limit: METERS_LOOKED_AT })}`)]);
  showSamples(meters.items);
  const rows = [
    ["Chain id", status.chainId],
    ["Head block", status.headBlock],
    ["Indexed block", status.indexedBlock],
    ["Payment token", cfg ? cfg.paymentSymbol : "—"],
    ["Operator routes", cfg && cfg.operatorRoutes ? "enabled" : "disabled"],
  ];
  document.getElementById("deployment").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
});

pageReady();
