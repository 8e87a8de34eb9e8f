/**
 * Run by sandbox.test.ts under Bun (and usable under Node): a looping step and an allocating step
 * through `ledge flows test`'s engine; prints what they publish, one line each, then `alive`.
 */
import { FlowTester } from "../../src/flows/tester.ts";
import { flowsTree } from "../helpers/flows.ts";

const { flowsDir } = flowsTree({
  "loop/flow.toml": `input.mqtt.topics = ["loop"]\nsteps = [{ script = "s.js" }]\n`,
  "loop/s.js": "export function onMessage() { for (;;) {} }",
  "mem/flow.toml": `input.mqtt.topics = ["mem"]\nsteps = [{ script = "s.js" }]\n`,
  "mem/s.js": `const k = []; export function onMessage() { for (;;) k.push({ a: k.length, b: "x" + k.length }); }`,
});
// the memory case gets a long time limit, so it is the memory limit that stops it
const open = (timeoutMs: number) =>
  FlowTester.open({
    flowsDir,
    finalOnInterval: false,
    time: new Date(),
    base64Input: false,
    base64Output: false,
    limits: { timeoutMs, memoryBytes: 48 * 1024 * 1024 },
    log: () => {},
  });
const loop = await open(200);
const mem = await open(60_000);
for (const line of [...loop.message("[loop] x"), ...mem.message("[mem] x")])
  process.stdout.write(`${line}\n`);
loop.close();
mem.close();
process.stdout.write("alive\n");
