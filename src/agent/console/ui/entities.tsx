/** The entity tree with health, and the selected entity's live measurements, plots and twin. */
import type { EntityView, Snapshot } from "../model.ts";
import { Plot } from "./plot.tsx";

const parentOf = (e: EntityView): string | undefined => e.parent;
const nameOf = (e: EntityView) =>
  String(
    e.registration?.name ?? e.registration?.["@id"] ?? (e.id === "device/main//" ? "main device" : e.id),
  );

function Node({
  e,
  all,
  selected,
  select,
}: {
  e: EntityView;
  all: EntityView[];
  selected: string;
  select: (id: string) => void;
}) {
  const children = all.filter((c) => c.id !== e.id && parentOf(c) === e.id);
  const status = e.health?.status ?? "";
  return (
    <li>
      <button
        type="button"
        class={`entity ${selected === e.id ? "selected" : ""}`}
        onClick={() => select(e.id)}
        data-entity={e.id}
      >
        <span class={`dot ${status}`} title={status || "no health"} />
        {nameOf(e)} <small>{String(e.registration?.["@type"] ?? "")}</small>
      </button>
      {children.length > 0 && (
        <ul>
          {children.map((c) => (
            <Node key={c.id} e={c} all={all} selected={selected} select={select} />
          ))}
        </ul>
      )}
    </li>
  );
}

export function Entities({
  s,
  selected,
  select,
}: {
  s: Snapshot;
  selected: string;
  select: (id: string) => void;
}) {
  const roots = s.entities.filter((e) => {
    const p = parentOf(e);
    return !p || !s.entities.some((x) => x.id === p);
  });
  const entity = s.entities.find((e) => e.id === selected);
  const series = Object.entries(s.series).filter(([k]) => k.startsWith(`${selected}|`));
  return (
    <div class="split">
      <ul class="tree">
        {roots.map((e) => (
          <Node key={e.id} e={e} all={s.entities} selected={selected} select={select} />
        ))}
      </ul>
      <section class="detail">
        {entity ? <h2>{nameOf(entity)}</h2> : <h2>{selected}</h2>}
        {entity?.health && (
          <p>
            health: <b class={`status ${entity.health.status}`}>{entity.health.status}</b>
          </p>
        )}
        <div class="series">
          {series.length === 0 && <p class="muted">no measurements in the last minutes</p>}
          {series.map(([key, points]) => {
            const [, type, name] = key.split("|");
            const last = points.at(-1);
            return (
              <figure key={key} data-series={key}>
                <figcaption>
                  {type ? `${type} · ` : ""}
                  {name} <b class="value">{last ? last.v : "–"}</b>
                </figcaption>
                <Plot points={points} label={name ?? key} />
              </figure>
            );
          })}
        </div>
        {entity && Object.keys(entity.twin).length > 0 && (
          <>
            <h3>twin</h3>
            <pre>{JSON.stringify(entity.twin, null, 2)}</pre>
          </>
        )}
      </section>
    </div>
  );
}
