/**
 * Commissioning: edit modbus.toml / serial.toml with every problem shown at its line, apply through
 * config_update (validated again, the old file kept on failure), and read registers once from a unit
 * to check an address before adding a point.
 */
import { useEffect, useState } from "preact/hooks";
import { applyFile, checkFile, type FileResult, readFile, readRegisters } from "./api.ts";

const FILES = ["modbus.toml", "serial.toml"];

/** `file:12: reason` lines → line number → reasons. */
export function problemLines(problems: string | undefined): Map<number, string[]> {
  const byLine = new Map<number, string[]>();
  for (const p of (problems ?? "").split("\n")) {
    const m = /:(\d+): (.*)$/.exec(p);
    if (m) byLine.set(Number(m[1]), [...(byLine.get(Number(m[1])) ?? []), m[2]!]);
  }
  return byLine;
}

function Editor() {
  const [name, setName] = useState(FILES[0]!);
  const [text, setText] = useState("");
  const [result, setResult] = useState<FileResult | undefined>();
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setResult(undefined);
    void readFile(name).then(setText);
  }, [name]);
  const problems = result?.problems ?? (result && !result.ok ? result.reason : undefined);
  const lines = problemLines(problems);
  const run = async (f: () => Promise<FileResult>) => {
    setBusy(true);
    try {
      setResult(await f());
    } finally {
      setBusy(false);
    }
  };
  return (
    <section>
      <h2>Device files</h2>
      <p>
        {FILES.map((f) => (
          <button type="button" key={f} class={f === name ? "selected" : ""} onClick={() => setName(f)}>
            {f}
          </button>
        ))}
      </p>
      <div class="editor">
        <ol class="gutter">
          {text.split("\n").map((_, i) => (
            <li key={i} class={lines.has(i + 1) ? "bad" : ""} title={lines.get(i + 1)?.join("\n")} />
          ))}
        </ol>
        <textarea
          spellcheck={false}
          value={text}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        />
      </div>
      <p>
        <button type="button" disabled={busy} onClick={() => run(() => checkFile(name, text))}>
          Check
        </button>{" "}
        <button type="button" disabled={busy} onClick={() => run(() => applyFile(name, text))}>
          Apply
        </button>
      </p>
      {result && (
        <div class={`result ${result.ok ? "ok" : "bad"}`} data-result={result.ok ? "ok" : "bad"}>
          {result.ok ? (result.status === "successful" ? "applied" : "no problems") : "refused"}
          {[...lines].map(([line, reasons]) => (
            <div key={line} class="problem">
              line {line}: {reasons.join("; ")}
            </div>
          ))}
          {lines.size === 0 && !result.ok && <div class="problem">{problems}</div>}
        </div>
      )}
    </section>
  );
}

function RegisterRead() {
  const [form, setForm] = useState({ device: "", table: "holding", address: 0, count: 1 });
  const [out, setOut] = useState("");
  const set = (k: keyof typeof form) => (e: Event) => {
    const v = (e.target as HTMLInputElement).value;
    setForm({ ...form, [k]: k === "address" || k === "count" ? Number(v) : v });
  };
  return (
    <section>
      <h2>Read registers once</h2>
      <p>
        <input placeholder="child device (e.g. plc1)" value={form.device} onInput={set("device")} />
        <select value={form.table} onChange={set("table")}>
          {["holding", "input", "coil", "discrete_input"].map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
        <input type="number" min={0} max={65535} value={form.address} onInput={set("address")} />
        <input type="number" min={1} max={125} value={form.count} onInput={set("count")} />
        <button
          type="button"
          onClick={async () => {
            const r = await readRegisters(form);
            setOut(
              r.status === "successful" ? (r.values ?? []).join(", ") : `${r.status}: ${r.reason ?? ""}`,
            );
          }}
        >
          Read
        </button>
      </p>
      {out && <pre data-registers>{out}</pre>}
    </section>
  );
}

export function Commissioning() {
  return (
    <>
      <Editor />
      <RegisterRead />
    </>
  );
}
