/* Money: Poster's totals to the agent's exact decimal strings.
 *
 * The POS platform gives an order's `total` as a number in the currency's major units
 * (joinposter/docs en/pos/types/order.md: products at 10.5 and 17 make "total": 86;
 * poster.d.ts in joinposter/pos-platform-boilerplate: `total: number`). A binary float is
 * never sent on: the amount becomes whole minor units (cents) first, and the decimal string
 * is written from that integer, so 0.1 + 0.2 goes as "0.30" and 23.5 as "23.50".
 */
S.MINOR_DIGITS = 2;

/** Whole minor units of a major-unit amount (a number or a numeric string); NaN if not one. */
S.toMinorUnits = function (amount, digits) {
  var d = digits === undefined ? S.MINOR_DIGITS : digits;
  var value = typeof amount === "string" ? Number(amount.trim()) : amount;
  if (typeof value !== "number" || !isFinite(value) || value < 0) return NaN;
  return Math.round(value * Math.pow(10, d));
};

/** A whole number of minor units as a decimal string: 2350 -> "23.50", 5 -> "0.05". */
S.minorToDecimal = function (minor, digits) {
  var d = digits === undefined ? S.MINOR_DIGITS : digits;
  if (!Number.isSafeInteger(minor) || minor < 0) throw new Error("not a whole amount: " + minor);
  var text = String(minor);
  if (d === 0) return text;
  while (text.length <= d) text = "0" + text;
  return text.slice(0, text.length - d) + "." + text.slice(text.length - d);
};

/** The order's total as the agent's decimal string (throws if Poster gave no usable total). */
S.totalOf = function (order) {
  var minor = S.toMinorUnits(order.total);
  if (isNaN(minor)) throw new Error("the order has no usable total: " + order.total);
  return S.minorToDecimal(minor);
};
