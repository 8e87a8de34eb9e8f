/** A small time-series plot of one series (uPlot: ~45 KB, canvas, no dependencies). */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { Point } from "../model.ts";

export function Plot({ points, label }: { points: Point[]; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [points.map((p) => p.t / 1000), points.map((p) => p.v)];
  useEffect(() => {
    if (!el.current) return;
    plot.current = new uPlot(
      {
        width: 280,
        height: 110,
        legend: { show: false },
        cursor: { show: false },
        axes: [
          { size: 20, font: "10px sans-serif" },
          { size: 40, font: "10px sans-serif" },
        ],
        series: [{}, { label, stroke: "#2a7ab0", width: 1.5 }],
      },
      data(),
      el.current,
    );
    return () => plot.current?.destroy();
  }, [label]);
  useEffect(() => plot.current?.setData(data()), [points.length, points.at(-1)?.t]);
  return <div class="plot" ref={el} />;
}
