// The text panel's styles, added to its own root (the tabular stylesheet stays as it is).
export const TEXT_CSS = `
.optiml-widget.ow-text { max-width: 1200px; }
.ow-text .ow-text-header { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; }
.ow-text .ow-text-header label { display: flex; gap: 4px; align-items: center; min-width: 0; max-width: 100%; }
.ow-text .ow-text-header select { min-width: 0; flex: 0 1 auto; }
.ow-text .ow-prediction { font-size: 1.25em; font-weight: 600; }
.ow-text .ow-editor { width: 100%; min-height: 3.2em; font: inherit; color: var(--ow-fg); background: var(--ow-bg); border: 1px solid var(--ow-border); border-radius: 4px; padding: 4px 6px; resize: vertical; }
.ow-text .ow-methods { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 340px), 1fr)); gap: 8px; }
.ow-text .ow-card { overflow-x: auto; }
.ow-text .ow-tokens { display: flex; flex-wrap: wrap; gap: 3px; margin: 6px 0; position: relative; }
.ow-text .ow-token { padding: 1px 4px; border-radius: 3px; border: 1px solid transparent; cursor: default; white-space: pre; font-family: var(--jp-code-font-family, monospace); font-size: 0.95em; }
.ow-text .ow-token[tabindex] { cursor: pointer; }
.ow-text .ow-token.ow-special { color: var(--ow-muted); font-size: 0.8em; }
.ow-text .ow-token.ow-sign-unknown { border: 1px dashed var(--ow-muted); }
.ow-text .ow-token.ow-linked { outline: 2px solid var(--ow-link); }
.ow-text .ow-token.ow-marked { border-color: var(--ow-fg); }
.ow-text .ow-token-menu { display: inline-flex; gap: 3px; align-items: center; padding: 2px; border: 1px solid var(--ow-border); border-radius: 4px; background: var(--ow-bg2); }
.ow-text .ow-replace { width: 7em; font: inherit; }
.ow-text .ow-stale { opacity: 0.55; }
.ow-text .ow-token-force { max-width: 560px; display: block; }
.ow-text .ow-seg-pos { fill: var(--ow-pos); }
.ow-text .ow-seg-neg { fill: var(--ow-neg); }
.ow-text .ow-seg-gap { fill: var(--ow-warn); opacity: 0.7; }
.ow-text .ow-seg-label { font-size: 10px; fill: var(--ow-fg); }
.ow-text .ow-axis { stroke: var(--ow-muted); stroke-width: 1; }
.ow-text .ow-axis-out { stroke: var(--ow-fg); stroke-width: 2; }
.ow-text .ow-ok { color: var(--ow-ok); }
.ow-text .ow-bad { color: var(--ow-bad); }
.ow-text .ow-status { font-weight: 400; font-size: 0.85em; color: var(--ow-muted); }
.ow-text .ow-lower { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 360px), 1fr)); gap: 8px; }
.ow-text .ow-heads { display: flex; flex-direction: column; gap: 2px; overflow-x: auto; padding: 2px; }
.ow-text .ow-heads-row { display: flex; gap: 3px; align-items: center; }
.ow-text .ow-heads-row > * { flex: none; }
.ow-text .ow-heads-row > span:first-child { width: 4.5em; }
.ow-text .ow-heads-head > span { width: 40px; text-align: center; font-size: 0.8em; }
.ow-text .ow-head { padding: 1px; line-height: 0; }
.ow-text .ow-head canvas { width: 36px; height: 36px; image-rendering: pixelated; }
.ow-text .ow-head.ow-selected { outline: 2px solid var(--ow-accent); }
.ow-text .ow-rollout { display: flex; flex-wrap: wrap; gap: 3px; align-items: center; margin: 6px 0; }
.ow-text .ow-rollout .ow-head { line-height: 1.3; }
.ow-text .ow-map-scroll { max-width: 100%; overflow-x: auto; }
.ow-text .ow-map-frame { display: inline-flex; flex-direction: column; }
.ow-text .ow-map-cols { display: flex; margin-left: 6em; height: 4.5em; align-items: flex-end; }
.ow-text .ow-map-col { writing-mode: vertical-rl; transform: rotate(180deg); overflow: hidden; font-size: 10px; white-space: nowrap; text-align: left; }
.ow-text .ow-map-body { display: flex; }
.ow-text .ow-map-rows { display: flex; flex-direction: column; width: 6em; }
.ow-text .ow-map-label { font-size: 10px; text-align: right; padding-right: 4px; overflow: hidden; white-space: nowrap; }
.ow-text .ow-map-label.ow-linked, .ow-text .ow-map-col.ow-linked { background: var(--ow-link); color: #000; }
.ow-text .ow-map { image-rendering: pixelated; border: 1px solid var(--ow-border); }
.ow-text .ow-text-rules { padding-left: 1.4em; margin: 4px 0; }
.ow-text .ow-text-rules li { margin: 2px 0; }
.ow-text .ow-text-rules li.ow-fired { background: var(--ow-bg2); outline: 1px solid var(--ow-accent); border-radius: 3px; }
.ow-text .ow-text-rules q.ow-said { font-weight: 700; background: var(--ow-link); color: #000; }
.ow-text .ow-curve-line { fill: none; stroke: var(--ow-accent); stroke-width: 1.5; }
.ow-text .ow-curve-axis { fill: none; stroke: var(--ow-border); stroke-width: 1; }
.ow-text .ow-curve-dot { fill: var(--ow-accent); }
.ow-text .ow-curve-chosen { fill: var(--ow-pos); }
.ow-text .ow-agreement { margin: 0; }
.ow-text .ow-error { color: var(--ow-bad); }
`;
