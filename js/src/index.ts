// anywidget entry point: the same module renders in JupyterLab, Notebook, VS Code and exports.
import { type PanelModel, renderPanel } from "./panel";
import { renderTextPanel } from "./text/panel";
import type { TextModel } from "./text/types";

export { renderExport } from "./host";
export { renderTextExport } from "./text/host";

export default {
  render({ model, el }: { model: PanelModel; el: HTMLElement }) {
    // The text panel (explain_widget on a list of texts) says so in its schema.
    if ((model.get("_schema") as { kind?: string }).kind === "text") return renderTextPanel(model as unknown as TextModel, el, { canExport: true });
    return renderPanel(model, el, { canExport: true });
  },
};
