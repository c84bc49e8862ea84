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

// A zone's role in the market, as MarketZones named it when it cleared: the bus price, or held by its
// link below it (export-bound) or above it (import-bound).
const ROLE = {
  COUPLED: "shared the bus price",
  EXPORT_BOUND: "export limit bound: priced below the bus",
  IMPORT_BOUND: "import limit bound: priced above the bus",
};
const BOUND = { EXPORT_BOUND: "export limit", IMPORT_BOUND: "import limit" };

// Whether the zone's link held it off the bus price, one way or the other.
export function isBound(zone) {
  return zone.role in BOUND;
}

// The zone's role in words (the bus itself has no link; a row the index kept before it recorded
// roles has none).
export function roleText(zone) {
  if (zone.zone === 0) return "the bus: no link";
  return ROLE[zone.role] || "not known to the index";
}

// The feeder's link in a household's words, the bus being "the community".
const FEEDER_ROLE = {
  COUPLED: "shared the community's price",
  EXPORT_BOUND: "full exporting: priced below the community",
  IMPORT_BOUND: "full importing: priced above the community",
};

export function feederRoleText(zone) {
  return FEEDER_ROLE[zone.role] || "not known to the index";
}

// "Links bound" of a market: the zones whose link held their price off the bus's, or "none".
export function boundLinksText(market) {
  const bound = market.zones.filter(isBound);
  return bound.length ? bound.map((z) => `${z.regionId === null ? `zone ${z.zone}` : `region ${z.regionId}`} (${BOUND[z.role]})`).join(", ") : "none";
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
  if (zone.role === "EXPORT_BOUND") {
    return "your feeder's link was full exporting, so its sellers got a lower price than the community's and flexible load on the feeder buys the surplus cheaper";
  }
  if (zone.role === "IMPORT_BOUND") {
    return "your feeder's link was full importing, so its buyers paid a higher price than the community's, its sellers got more and flexible load on the feeder saves by waiting";
  }
  if (zone.role === "COUPLED") return "your feeder shared the community's price: its link did not hold it apart";
  return "the index did not record whether your feeder's link held its price apart";
}
