// Times run(1, 7) of the tutorial's guest in Node's built-in WebAssembly.
// usage: node node_calls.js GUEST.wasm normal|exit REPEAT MIN_SECONDS
// prints {"us_per_call": [...]} with one value per round.
"use strict";
const fs = require("fs");

const [wasmPath, arm, repeatText, minTimeText] = process.argv.slice(2);
const repeat = Number(repeatText);
const minNs = Number(minTimeText) * 1e9;

class ExitCode extends Error {
  constructor(code) { super(String(code)); this.code = code; }
}
// Like the Python host, throw one object made up front: what is timed is the
// unwinding, not building an Error and its stack trace.
const exitCode = new ExitCode(1);
const earlyExit = arm === "exit" ? () => { throw exitCode; } : () => {};
const instance = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(wasmPath)), {
  env: { early_exit: earlyExit },
});
const run = instance.exports.run;

function loop(n) {
  let check = 0;
  for (let i = 0; i < n; i++) {
    try {
      check += run(1, 7);
    } catch (e) {
      if (e !== exitCode) throw e;
      check += 1;
    }
  }
  return check;
}

function timed(n) {
  const start = process.hrtime.bigint();
  const check = loop(n);
  const ns = Number(process.hrtime.bigint() - start);
  if (check !== n * (arm === "exit" ? 1 : 8)) throw new Error(`unexpected results: ${check}`);
  return ns;
}

let n = 1;
while (timed(n) < minNs) n *= 2; // calibrate, and let the JIT warm up on the way
const usPerCall = [];
for (let r = 0; r < repeat; r++) usPerCall.push(timed(n) / n / 1e3);
console.log(JSON.stringify({ us_per_call: usPerCall, iterations: n }));
