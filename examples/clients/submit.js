#!/usr/bin/env node
// Submit a request to a spoolrunner spool and wait for its end (Node.js standard library only).
// Usage: submit.js SPOOL PROCESS_TYPE [NAME=VALUE ...]
// Prints "<process_id> <status>" and exits 0 only on success, like `spoolrunner submit --wait`.
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");

const FINAL = new Set(["success", "failed", "cancelled", "rejected"]);
const [spool, processType, ...pairs] = process.argv.slice(2);
// The id is the idempotency key: keep it to resubmit the same request safely.
const processId = "proc_" + crypto.randomBytes(6).toString("hex");
const request = { process_type: processType };
for (const pair of pairs) {
  const at = pair.indexOf("=");
  request[pair.slice(0, at)] = pair.slice(at + 1);
}

// Maildir protocol: write and fsync under tmp/, then rename(2) into inbox/ in one step.
const temp = path.join(spool, "tmp", `${processId}.json.${process.pid}`);
const fd = fs.openSync(temp, "wx");
fs.writeSync(fd, JSON.stringify(request));
fs.fsyncSync(fd);
fs.closeSync(fd);
fs.renameSync(temp, path.join(spool, "inbox", `${processId}.json`));

const statusFile = path.join(spool, "outbox", `${processId}.json`);
function poll() {
  let status = null;
  try {
    status = JSON.parse(fs.readFileSync(statusFile, "utf8")).status;
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  if (FINAL.has(status)) {
    console.log(processId, status);
    process.exit(status === "success" ? 0 : 1);
  }
  setTimeout(poll, 200);
}
poll();
