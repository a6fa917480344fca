// The chart engine: a module of its own that reaches the browser only when the global views
// are first shown, so every panel instance does not carry it. Expressions run through
// vega-interpreter, so no eval: the export's content-security policy forbids it.
import embed from "vega-embed";
import { expressionInterpreter } from "vega-interpreter";

export { embed, expressionInterpreter };
