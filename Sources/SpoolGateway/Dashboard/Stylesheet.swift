/// The dashboard's only stylesheet, served from `/ui/style.css` so that the CSP can forbid inline
/// styles (`style-src 'self'`).
enum Stylesheet {
    static let css = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d232a; background: #f6f7f9; }
        header { background: #1d232a; color: #fff; padding: 10px 20px; }
        header a { color: #fff; text-decoration: none; margin-right: 14px; }
        header .brand { font-weight: 700; }
        main { padding: 16px 20px; max-width: 1200px; }
        h1 { font-size: 20px; margin: 6px 0 12px; }
        h2 { font-size: 16px; margin: 20px 0 8px; }
        table { border-collapse: collapse; background: #fff; width: 100%; }
        table.facts, #inputs { width: auto; min-width: 420px; }
        th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
        th { background: #eef0f3; font-weight: 600; }
        code, pre { font: 12px/1.4 ui-monospace, monospace; }
        pre { background: #fff; border: 1px solid #e3e6ea; padding: 8px; overflow-x: auto; white-space: pre-wrap; }
        .cards { display: flex; gap: 10px; flex-wrap: wrap; margin-bottom: 12px; }
        .card { background: #fff; border: 1px solid #e3e6ea; padding: 8px 14px; min-width: 90px; }
        .card b { display: block; font-size: 20px; }
        .status { padding: 1px 6px; border-radius: 3px; font-size: 12px; background: #e3e6ea; }
        .status-success { background: #d3f0d8; } .status-failed, .status-rejected { background: #f7d4d4; }
        .status-running, .status-retrying { background: #d6e6fb; } .status-cancelled, .status-skipped { background: #eee3c9; }
        .health-ok { color: #17702c; } .health-bad { color: #a31515; }
        form.inline { display: inline; }
        form.filters input, form.filters select { margin-right: 8px; }
        button { cursor: pointer; }
        svg.timeline { background: #fff; border: 1px solid #e3e6ea; }
        svg.timeline text { font: 11px system-ui, sans-serif; fill: #1d232a; }
        svg.timeline .axis { stroke: #c5cad1; }
        .bar-success { fill: #3aa757; } .bar-failed { fill: #d64545; } .bar-running { fill: #3b7dd8; }
        .bar-retrying { fill: #e0a030; } .bar-cancelled, .bar-interrupted { fill: #9b8a5e; }
        .error { color: #a31515; }
        .muted { color: #6a737d; }
        """
}
