// `custos audit prove SEQ`: an RFC 6962 inclusion proof that event SEQ is in the signed log, verified here
// and printed so anyone can check it again with any RFC 6962 implementation.
import { signedNote } from "../audit/checkpoint.ts";
import { decodeEvent, hex } from "../audit/codec.ts";
import { bytesEqual } from "../audit/merkle.ts";
import { ProofError, proveInclusion } from "../audit/prove.ts";
import { operatorTrust, ownLogId } from "./audit-trust.ts";
import { type CliCommand, CliError, parseFlags } from "./command.ts";
import { withStore } from "./store-access.ts";

export const auditProveCommand: CliCommand = {
  name: "audit prove",
  summary: "print and check the inclusion proof of one audit event",
  usage: `usage: custos audit prove SEQ --config FILE [--log LOG_ID] [--size N] [--public-key FILE] [--json]

Proves that event SEQ of the log (default: this gateway's) is in the Merkle tree a signed checkpoint
commits to (RFC 6962 §2.1.1): prints the event, its leaf hash, the checkpoint as a C2SP signed note and
the audit path, after verifying the proof and the checkpoint's signature (against --public-key when given,
otherwise the key the store registered for the log). --size picks the checkpoint (default: the first that
covers SEQ). Exits 1 when the event or a covering checkpoint is missing or the proof does not verify.`,
  async run(argv) {
    const { flags, positionals } = parseFlags(argv, {
      config: "string",
      log: "string",
      size: "string",
      "public-key": "string",
      json: "boolean",
    });
    const seq = Number(positionals[0]);
    if (!Number.isSafeInteger(seq) || seq < 0)
      throw new CliError("audit prove needs an event SEQ (0, 1, …)", 2);
    const size = flags.size === undefined ? undefined : Number(flags.size);
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 1))
      throw new CliError("--size must be a positive integer", 2);
    return withStore(flags.config, async (store, config) => {
      const logId = typeof flags.log === "string" ? flags.log : ownLogId(config);
      if (!logId) throw new CliError("this data_dir has no log yet: name one with --log LOG_ID", 2);
      const log = (await store.logs()).find((l) => l.logId === logId);
      if (!log) throw new CliError(`log ${logId} is not in the store`);
      const trust = await operatorTrust(flags, config);
      const key = trust ? trust.keys.find((k) => bytesEqual(k, log.publicKey)) : log.publicKey;
      if (!key) throw new CliError(`log ${logId} is not signed by the key in --public-key`);
      let proof: Awaited<ReturnType<typeof proveInclusion>>;
      try {
        proof = await proveInclusion(store, logId, seq, key, size);
      } catch (err) {
        if (err instanceof ProofError) throw new CliError(err.message);
        throw err;
      }
      const event = proof.pruned ? null : decodeEvent(proof.event.body);
      const out = {
        log_id: logId,
        seq,
        tree_size: proof.checkpoint.size,
        leaf_hash: hex(proof.leafHash),
        root_hash: hex(proof.checkpoint.rootHash),
        audit_path: proof.path.map(hex),
        checkpoint: signedNote(proof.checkpoint, key),
        pruned: proof.pruned,
        event,
        verified: true,
      };
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify(out, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString("base64") : v), 2)}\n`,
        );
        return 0;
      }
      const lines = [
        `event       ${logId} #${seq} ${proof.event.type} at ${new Date(proof.event.time).toISOString()}${proof.pruned ? " (body pruned by retention)" : ""}`,
        `leaf hash   ${out.leaf_hash}`,
        `tree size   ${out.tree_size}`,
        `root hash   ${out.root_hash}`,
        "audit path  (RFC 6962 §2.1.1, leaf to root)",
        ...out.audit_path.map((h, i) => `  ${String(i).padStart(2)}  ${h}`),
        "checkpoint",
        ...out.checkpoint
          .trimEnd()
          .split("\n")
          .map((l) => `  ${l}`),
        "ok: the proof and the checkpoint's signature verify",
      ];
      process.stdout.write(`${lines.join("\n")}\n`);
      return 0;
    });
  },
};
