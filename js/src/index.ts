// anywidget entry point: the same module renders in JupyterLab, Notebook, VS Code and exports.
import { uid } from "./dom";
import { type PanelModel, renderPanel } from "./panel";
import { renderTextPanel } from "./text/panel";
import type { TextModel } from "./text/types";

export { renderExport } from "./host";
export { renderTextExport } from "./text/host";

export default {
  render({ model, el }: { model: PanelModel; el: HTMLElement }) {
    // The kernel stops the panel's background work once its every view is gone (a cell
    // run again leaves the old panel alive in the kernel), and starts it again when one
    // comes back (on_screen.py).
    const id = uid("view");
    model.send({ type: "view", id, shown: true });
    // The text panel (explain_widget on a list of texts) says so in its schema.
    const cleanup =
      (model.get("_schema") as { kind?: string }).kind === "text"
        ? renderTextPanel(model as unknown as TextModel, el, { canExport: true })
        : renderPanel(model, el, { canExport: true });
    return () => {
      cleanup();
      model.send({ type: "view", id, shown: false });
    };
  },
};
