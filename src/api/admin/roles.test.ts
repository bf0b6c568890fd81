import { expect, test } from "bun:test";
import { allowed, CAN, rolesFor } from "./roles.ts";

const roles = { admin: ["custos-admins"], approver: ["approvers", "dba-leads"], auditor: ["auditors"] };

test("roles come from groups; several groups give several roles; none give none", () => {
  expect(rolesFor(["custos-admins"], roles)).toEqual(["admin"]);
  expect(rolesFor(["dba-leads", "auditors", "agents"], roles)).toEqual(["approver", "auditor"]);
  expect(rolesFor(["agents"], roles)).toEqual([]);
  expect(rolesFor([], { admin: [], approver: [], auditor: [] })).toEqual([]);
});

test("auditors read but never decide; approvers decide but never read recordings", () => {
  expect(allowed(["auditor"], CAN.read)).toBe(true);
  expect(allowed(["auditor"], CAN.decide)).toBe(false);
  expect(allowed(["approver"], CAN.decide)).toBe(true);
  expect(allowed(["approver"], CAN.read)).toBe(false);
  expect(allowed(["approver"], CAN.readApprovals)).toBe(true);
  expect(allowed([], CAN.readApprovals)).toBe(false);
});
