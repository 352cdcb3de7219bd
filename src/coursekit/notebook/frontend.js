// The browser half of two small helpers in coursekit.notebook.widgets (run by anywidget).
//
// "keys": an invisible child of each activity. JupyterLab's notebook shortcuts listen for keys
// on the document (arrows move between cells, A/B insert cells, Enter edits...). Radio buttons
// and dropdowns are not text inputs, so without this their keys would reach those shortcuts:
// keys pressed inside the activity stop at its root, except with Ctrl/Cmd/Alt (Ctrl+S still
// saves) and Escape. It also groups radio buttons (one Tab stop, arrows choose), gives controls
// the accessible names Python passes in `labels` (CSS selector -> attributes), announces a
// slider's step by its label (`steps`) and a toggle button's state (aria-pressed).
// An activity shown from the notebook's saved state, with no kernel behind it (reopened and not
// run yet, or after a kernel restart: ipywidgets marks it "disconnected"), gets a banner saying
// to run the notebook (`not_live`) and its controls disabled: a click there would change nothing
// in the kernel, so nothing may look checked or recorded.
//
// "words": a live word count of the reflection cell just above it, against its minimum.

function waitForRoot(el, selector, then) {
  let tries = 0;
  const look = () => {
    const root = el.closest(selector);
    if (root) then(root);
    else if (tries++ < 200) requestAnimationFrame(look);
  };
  look();
}

let groups = 0;

const STYLE = `
.coursekit-not-live .jupyter-widgets-disconnected::before,
.coursekit-not-live.jupyter-widgets-disconnected::before,
.coursekit-word-count.jupyter-widgets-disconnected::before { display: none; }
.coursekit-run-first { background: #fff4ce; border: 2px solid #8a6d00; color: #3d3000; font-weight: bold;
  padding: 0.4em 0.6em; margin: 0 0 0.5em; }
`;

function addStyle() {
  if (document.getElementById("coursekit-style")) return;
  const style = document.createElement("style");
  style.id = "coursekit-style";
  style.textContent = STYLE;
  document.head.appendChild(style);
}

function setAttribute(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

// Controls this file disabled carry data-coursekit-disabled, so only they are enabled again.
// Nothing is written that is already so: each write would wake the observer that called this.
function showLive(root, note) {
  const live = !root.classList.contains("jupyter-widgets-disconnected");
  const banner = root.querySelector(":scope > .coursekit-run-first");
  if (live) {
    if (!banner) return;
    banner.remove();
    root.classList.remove("coursekit-not-live");
    for (const node of root.querySelectorAll("[data-coursekit-disabled]")) {
      node.removeAttribute("disabled");
      node.removeAttribute("aria-disabled");
      delete node.dataset.coursekitDisabled;
    }
    return;
  }
  if (!banner) {
    const line = document.createElement("div");
    line.className = "coursekit-run-first";
    line.setAttribute("role", "note");
    line.textContent = note;
    root.prepend(line);
  }
  if (!root.classList.contains("coursekit-not-live")) root.classList.add("coursekit-not-live");
  for (const node of root.querySelectorAll("input, select, textarea, button, .noUi-target, .noUi-handle")) {
    if (node.hasAttribute("disabled") || node.getAttribute("aria-disabled") === "true") continue;
    node.dataset.coursekitDisabled = "1";
    if (node.classList.contains("noUi-handle")) node.setAttribute("aria-disabled", "true");
    else node.setAttribute("disabled", "");
  }
}

function applyLabels(root, labels, steps) {
  for (const box of root.querySelectorAll(".widget-radio-box")) {
    if (!box.dataset.coursekitGroup) box.dataset.coursekitGroup = `coursekit-group-${++groups}`;
    for (const input of box.querySelectorAll('input[type="radio"]')) {
      if (input.name !== box.dataset.coursekitGroup) input.name = box.dataset.coursekitGroup;
    }
  }
  for (const [selector, attributes] of Object.entries(labels)) {
    for (const node of root.querySelectorAll(selector)) {
      for (const [name, value] of Object.entries(attributes)) setAttribute(node, name, value);
    }
  }
  for (const handle of steps.length ? root.querySelectorAll(".noUi-handle") : []) {
    const step = steps[Math.round(Number(handle.getAttribute("aria-valuenow")))];
    if (step !== undefined) setAttribute(handle, "aria-valuetext", step);
  }
  for (const button of root.querySelectorAll(".widget-toggle-button")) {
    setAttribute(button, "aria-pressed", String(button.classList.contains("mod-active")));
  }
}

function renderKeys({ model, el }) {
  el.style.display = "none";
  waitForRoot(el, ".coursekit-activity", (root) => {
    if (!root.dataset.coursekitKeys) {
      root.dataset.coursekitKeys = "1";
      root.addEventListener("keydown", (event) => {
        if (!event.ctrlKey && !event.metaKey && !event.altKey && event.key !== "Escape") {
          event.stopPropagation();
        }
      });
    }
    addStyle();
    const label = () => {
      showLive(root, model.get("not_live"));
      applyLabels(root, model.get("labels"), model.get("steps"));
    };
    label();
    // Attributes too: a toggle's class, a slider's value, the root's "disconnected" mark.
    const watched = { childList: true, subtree: true, attributes: true, attributeFilter: ["class", "aria-valuenow"] };
    new MutationObserver(label).observe(root, watched);
    model.on("change:labels", label);
  });
}

// The cell's Markdown source, line by line, from its editor (kept, hidden, once the cell was edited);
// a cell never edited has no editor yet, and its rendered text keeps the placeholder on a line of its own.
function cellSource(cell) {
  const lines = cell.querySelectorAll(".jp-InputArea-editor .cm-line");
  if (lines.length) {
    return Array.from(lines, (line) => line.textContent).join("\n");
  }
  const rendered = cell.querySelector(".jp-RenderedMarkdown");
  return rendered ? rendered.innerText : "";
}

function renderWords({ model, el }) {
  addStyle();
  el.classList.add("coursekit-word-count"); // it counts in the browser: it works with no kernel too
  const line = document.createElement("div");
  line.className = "coursekit-words";
  line.setAttribute("aria-live", "polite");
  el.appendChild(line);
  const word = new RegExp(model.get("word_pattern"), "gu");
  const placeholders = model.get("placeholders");
  const show = (count) => {
    const minimum = model.get("min_words");
    const done = count >= minimum;
    line.textContent = done
      ? `✔ ${count} words (at least ${minimum})`
      : `${count} of at least ${minimum} words: ${minimum - count} to go`;
    line.style.color = done ? "#1a6b2a" : "#6b4a00";
  };
  show(model.get("count"));
  waitForRoot(el, ".jp-Cell", (own) => {
    let cell = own.previousElementSibling;
    while (cell && !cell.classList.contains("jp-MarkdownCell")) cell = cell.previousElementSibling;
    if (!cell) return;
    const count = () => {
      const text = cellSource(cell)
        .split("\n")
        .filter((row) => !placeholders.includes(row.trim()))
        .join("\n");
      const n = (text.match(word) || []).length;
      if (n !== model.get("count")) {
        model.set("count", n);
        model.save_changes();
      }
      show(n);
    };
    count();
    new MutationObserver(count).observe(cell, { childList: true, subtree: true, characterData: true });
  });
}

export default {
  render(context) {
    return context.model.get("role") === "words" ? renderWords(context) : renderKeys(context);
  },
};
