// Makes a PostgreSQL audit store hang: another session holds its tables in ACCESS EXCLUSIVE mode, so the
// recorder's commits wait (and its durability deadline passes) until unlock(). How the durable-write tests
// (ENFORCEMENT.md §8) prove by effect that nothing reaches the target before its record is durable.
import postgres from "postgres";

export interface AuditLock {
  unlock(): Promise<void>;
}

/** Locks the audit store at `auditUrl` (its events, recordings and sessions) until unlock(). */
export async function lockAuditStore(auditUrl: string): Promise<AuditLock> {
  const locker = postgres(auditUrl, { max: 1, onnotice: () => {} });
  const reserved = await locker.reserve();
  await reserved`begin`;
  await reserved`lock table audit_events, recordings, sessions in access exclusive mode`;
  return {
    async unlock() {
      await reserved`rollback`;
      reserved.release();
      await locker.end({ timeout: 1 });
    },
  };
}
