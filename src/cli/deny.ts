// `custos deny ID`: defined beside `approve` (approve.ts), the same command with the other verdict.
export { denyCommand } from "./approve.ts";
