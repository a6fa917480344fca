// anywidget entry point: the same module renders in JupyterLab, Notebook, VS Code and exports.
import { type PanelModel, renderPanel } from "./panel";

export { renderExport } from "./host";

export default {
  render({ model, el }: { model: PanelModel; el: HTMLElement }) {
    return renderPanel(model, el, { canExport: true });
  },
};
