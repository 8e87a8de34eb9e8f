import { bad, type LineParser, toNumber, type Values } from "./types.ts";

/**
 * A VE.Direct text block (checksum already verified by the framer) → one measurement: every field
 * with a decimal value becomes a series named by its label, in the device's units (V in mV, I in
 * mA, ...); `ON`/`OFF` become 1/0. Text fields (PID `0xA053`, FW, SER#) are left out.
 */
export function veDirectParser(): LineParser {
  return (block) => {
    const values: Values = {};
    for (const line of block.split("\r\n")) {
      if (line === "") continue;
      const tab = line.indexOf("\t");
      if (tab <= 0) return bad(`VE.Direct field '${line.slice(0, 40)}' has no label and value`);
      const label = line.slice(0, tab);
      const text = line.slice(tab + 1);
      if (label === "Checksum" || /[/#+]/.test(label)) continue;
      const v = text === "ON" ? 1 : text === "OFF" ? 0 : toNumber(text);
      if (v !== undefined) values[label] = v;
    }
    return Object.keys(values).length === 0
      ? bad("VE.Direct block without a numeric field")
      : { ok: true, values };
  };
}
