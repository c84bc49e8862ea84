// The landing page: the four views and what the service runs against.
import { api, h, live, pageReady, startPage } from "./common.js";

const cfg = await startPage();

live(async () => {
  const status = await api("/index/status");
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
