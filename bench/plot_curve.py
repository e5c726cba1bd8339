#!/usr/bin/env python3
"""A training curve as an SVG line chart, from the progress lines reckon writes (stderr).

Reads lines like "... epoch 12/1000, loss 0.05, validation recall@20 0.1197 (best ...), 2.3 min"
and plots the validation score of each epoch against the minutes. With --probes FILE it also
plots the test scores of bench_lightgcn_curve's lines ("probe: epoch 10, 2.21 min, test
recall@20 0.1323, ..."), a second line. No dependencies.
Usage: bench/plot_curve.py LOG OUT.svg [--title TEXT] [--mark Y[:LABEL]]... [--probes FILE]
"""
import re
import sys


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    log, out = argv[1], argv[2]
    title, marks, probes_file = "validation score against minutes", [], None
    rest = argv[3:]
    while rest:
        flag, value, rest = rest[0], rest[1], rest[2:]
        if flag == "--title":
            title = value
        elif flag == "--mark":
            y, _, label = value.partition(":")
            marks.append((float(y), label or y))
        elif flag == "--probes":
            probes_file = value
    pattern = re.compile(r"epoch (\d+)/\d+, loss [^,]+, validation (\S+) ([0-9.]+) \(best[^)]*\), ([0-9.]+) min")
    points, metric = {}, "validation"
    with open(log, errors="replace") as f:
        for line in f.read().replace("\r", "\n").splitlines():
            m = pattern.search(line)
            if m:
                points[int(m.group(1))] = (float(m.group(4)), float(m.group(3)))
                metric = "validation " + m.group(2)
    if not points:
        sys.exit(f"{log}: no epoch lines with a validation score")
    xs = [p[0] for _, p in sorted(points.items())]
    ys = [p[1] for _, p in sorted(points.items())]
    # The test curve (chooses nothing: the model stops and keeps its epoch by validation).
    px, py = [], []
    if probes_file:
        probe = re.compile(r"probe: epoch \d+, ([0-9.]+) min, test \S+ ([0-9.]+)")
        with open(probes_file, errors="replace") as f:
            for line in f:
                m = probe.search(line)
                if m:
                    px.append(float(m.group(1)))
                    py.append(float(m.group(2)))
    w, h, left, bottom, top, right = 720, 420, 70, 50, 40, 20
    x_max = max(xs + px) or 1
    y_lo = min(ys + py + [m[0] for m in marks]) * 0.95
    y_hi = max(ys + py + [m[0] for m in marks]) * 1.03
    sx = lambda x: left + (w - left - right) * x / x_max
    sy = lambda y: h - bottom - (h - bottom - top) * (y - y_lo) / (y_hi - y_lo)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
             f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">minutes of training</text>',
             f'<text x="16" y="{h / 2}" text-anchor="middle" transform="rotate(-90 16 {h / 2})">{metric}</text>']
    for k in range(6):
        x = x_max * k / 5
        parts.append(f'<text x="{sx(x):.1f}" y="{h - bottom + 16}" text-anchor="middle">{x:.0f}</text>')
        y = y_lo + (y_hi - y_lo) * k / 5
        parts.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.3f}</text>')
        parts.append(f'<line x1="{left}" y1="{sy(y):.1f}" x2="{w - right}" y2="{sy(y):.1f}" stroke="#ddd"/>')
    for m, label in marks:
        parts.append(f'<line x1="{left}" y1="{sy(m):.1f}" x2="{w - right}" y2="{sy(m):.1f}" stroke="#c33" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{w - right - 4}" y="{sy(m) + 16:.1f}" text-anchor="end" fill="#c33">{label}</text>')
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys))
    parts.append(f'<polyline points="{path}" fill="none" stroke="#1f5fbf" stroke-width="2"/>')
    if px:
        tpath = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(px, py))
        parts.append(f'<polyline points="{tpath}" fill="none" stroke="#2a9d4b" stroke-width="2"/>')
        for x, y in zip(px, py):
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="#2a9d4b"/>')
        parts.append(f'<text x="{w - right - 10}" y="{h - bottom - 30}" text-anchor="end" fill="#1f5fbf">{metric} (chooses the epoch)</text>')
        parts.append(f'<text x="{w - right - 10}" y="{h - bottom - 14}" text-anchor="end" fill="#2a9d4b">test {metric.split()[-1]} of the kept epoch (chooses nothing)</text>')
    parts.append("</svg>")
    with open(out, "w") as f:
        f.write("\n".join(parts) + "\n")
    print(f"{out}: {len(xs)} epochs, last {metric} {ys[-1]:.4f} at {xs[-1]:.1f} min, best {max(ys):.4f}")


if __name__ == "__main__":
    main(sys.argv)
