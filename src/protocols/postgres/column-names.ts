// Column names as the pack's name lists spell them: `customerSSN`, `CustomerSsn`, `customer-ssn` and
// `customer_ssn` are all `customer_ssn`, so one list entry covers every spelling a schema uses.

/** snake_case of a column name: camelCase and acronyms split, separators folded to `_`, lower case. */
export function snakeName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
}
