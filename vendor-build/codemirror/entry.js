// The parts of CodeMirror 6 the console's menu editor uses, bundled into one file (IIFE global
// `CodeMirror`) so the console needs no build step and no CDN.
export { EditorView, keymap } from "@codemirror/view";
export { EditorState } from "@codemirror/state";
export { basicSetup } from "codemirror";
export { yaml } from "@codemirror/lang-yaml";
export { lintGutter, setDiagnostics, forEachDiagnostic } from "@codemirror/lint";
export { indentWithTab } from "@codemirror/commands";
