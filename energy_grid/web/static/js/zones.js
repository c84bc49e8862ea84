// The words of a market cleared across zones (/api/v1/auction/zone-markets), shared by the operator's
// view and the household's, so that both say a zone's flow and its link the same way.
import { formatClock, formatDay, formatKWh } from "./common.js";

export const INTERVAL_S = 900; // a market's period: one metering interval

// The delivery interval of a market by the clock, "06:00 PM – 06:15 PM": recent markets are today's.
export function clockSpan(period) {
  const start = Number(period) * INTERVAL_S;
  return `${formatClock(start)} – ${formatClock(start + INTERVAL_S)}`;
}

// The delivery interval with its day, "11/26/26 06:00 PM – 06:15 PM".
export function intervalOf(period) {
  return `${formatDay(Number(period) * INTERVAL_S)} ${clockSpan(period)}`;
}

// A zone's net export as a flow through its link: "1.250 kWh out", "0.500 kWh in", "none".
export function flowText(netExportWh) {
  const wh = BigInt(netExportWh);
  if (wh === 0n) return "none";
  return wh > 0n ? `${formatKWh(wh)} out` : `${formatKWh(-wh)} in`;
}

// A link limit in force for the period: its power and the energy it carries in the period.
export function limitText(limitKW, limitWh) {
  return limitKW === null ? "no limit" : `${limitKW} kW (${formatKWh(limitWh)})`;
}

const FULL = { EXPORT: "full, exporting", IMPORT: "full, importing", CLOSED: "closed both ways" };

// The link's state: full one way, closed, or with room (the bus itself has no link; a zone the index
// holds no region of, added before the index kept zones, has no limits it could compare).
export function linkText(zone) {
  if (zone.zone === 0) return "the bus: no link";
  if (zone.regionId === null) return "not known to the index";
  return FULL[zone.binding] || "room";
}

// "Full links" of a market: the zones whose link was full, or "none".
export function fullLinksText(market) {
  const full = market.zones.filter((z) => z.binding);
  return full.length ? full.map((z) => `region ${z.regionId} (${FULL[z.binding]})`).join(", ") : "none";
}

// The lowest and highest zone price of a market, as "0.061–0.095" of `format`, or the one price.
export function priceRangeText(market, format) {
  const prices = market.zones.map((z) => BigInt(z.clearingPricePerKWh));
  if (!prices.length) return format(market.busPricePerKWh);
  const low = prices.reduce((a, b) => (b < a ? b : a));
  const high = prices.reduce((a, b) => (b > a ? b : a));
  return low === high ? format(low) : `${format(low)} – ${format(high)}`;
}

// What the household's feeder's link did in a market, in plain words.
export function feederLinkWords(zone) {
  if (zone.binding === "EXPORT") return "your feeder's link was full (exporting), so its sellers got a lower price";
  if (zone.binding === "IMPORT") return "your feeder's link was full (importing), so its buyers paid a higher price";
  if (zone.binding === "CLOSED") return "your feeder's link was closed: it traded within itself";
  return "your feeder's link had room, so it traded at the community's price";
}
