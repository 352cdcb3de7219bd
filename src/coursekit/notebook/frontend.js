// The browser half of two small helpers in coursekit.notebook.widgets (run by anywidget).
//
// "keys": an invisible child of each activity. JupyterLab's notebook shortcuts listen for keys
// on the document (arrows move between cells, A/B insert cells, Enter edits...). Radio buttons
// and dropdowns are not text inputs, so without this their keys would reach those shortcuts:
// keys pressed inside the activity stop at its root, except with Ctrl/Cmd/Alt (Ctrl+S still
// saves) and Escape. It also groups radio buttons (one Tab stop, arrows choose) and gives
// controls the accessible names Python passes in `labels` (CSS selector -> attributes).
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

function applyLabels(root, labels) {
  for (const box of root.querySelectorAll(".widget-radio-box")) {
    if (!box.dataset.coursekitGroup) box.dataset.coursekitGroup = `coursekit-group-${++groups}`;
    for (const input of box.querySelectorAll('input[type="radio"]')) {
      if (input.name !== box.dataset.coursekitGroup) input.name = box.dataset.coursekitGroup;
    }
  }
  for (const [selector, attributes] of Object.entries(labels)) {
    for (const node of root.querySelectorAll(selector)) {
      for (const [name, value] of Object.entries(attributes)) {
        if (node.getAttribute(name) !== value) node.setAttribute(name, value);
      }
    }
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
    const label = () => applyLabels(root, model.get("labels"));
    label();
    new MutationObserver(label).observe(root, { childList: true, subtree: true });
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
