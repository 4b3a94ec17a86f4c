// The console's choosers: modal lists (a reason, a merge target), two selects (topic, district)
// and the keyboard help. While one is open it takes every key (state.chooser).

import {
  $, S, clip, config, element, format, isAfter, isMergeTarget, label, state, suggestions,
} from "./console_state.js";
import { focusQueue } from "./console_rows.js";
import { command } from "./console_socket.js";

const help = $("help");
const helpButton = $("help-button");

// Choosers: a modal list (reasons, merge targets) or two selects (topic, district)

class ListChooser {
  constructor(name) {
    this.root = document.querySelector(`[data-chooser="${name}"]`);
    this.name = name;
    this.list = this.root.querySelector("[data-options]");
    this.filter = this.root.querySelector("[data-chooser-filter]");
    this.emptyNote = this.root.querySelector("[data-empty]");
    this.options = [];
    this.shown = [];
    this.active = 0;
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[data-value]");
      if (option) this.choose(option.dataset.value);
    });
    this.filter?.addEventListener("input", () => this.render(0));
    this.root.querySelector("[data-confirm]").addEventListener("click", () => this.confirm());
    this.root.querySelector("[data-cancel]").addEventListener("click", () => this.close());
  }

  show(options, active, done) {
    this.options = options;
    this.done = done;
    if (this.filter) this.filter.value = "";
    this.render(Math.max(0, active));
    this.root.hidden = false;
    state.chooser = this;
    this.list.focus();
  }

  render(active) {
    const query = this.filter ? this.filter.value.trim().toLocaleLowerCase() : "";
    this.shown = this.options.filter((o) => !query || o.search.includes(query));
    this.active = Math.min(active, Math.max(0, this.shown.length - 1));
    this.list.replaceChildren(
      ...this.shown.map((option, index) => {
        const line = element("li", "option");
        line.id = `${this.name}-option-${index}`;
        line.setAttribute("role", "option");
        line.dataset.value = option.value;
        if (option.suggested) line.dataset.suggested = "true";
        line.setAttribute("aria-selected", String(index === this.active));
        if (option.key) line.append(element("kbd", "", option.key), " ");
        line.append(element("bdi", "", option.label));
        if (option.detail) line.append(" ", element("span", "muted", option.detail));
        return line;
      }),
    );
    if (this.emptyNote) this.emptyNote.hidden = this.shown.length > 0;
    const chosen = this.list.children[this.active];
    if (chosen) {
      this.list.setAttribute("aria-activedescendant", chosen.id);
      chosen.scrollIntoView({ block: "nearest" });
    } else {
      this.list.removeAttribute("aria-activedescendant");
    }
  }

  key(event) {
    const key = event.key;
    const inFilter = event.target === this.filter;
    if (event.target.tagName === "BUTTON" && (key === "Enter" || key === " ")) return;
    if (key === "Escape") this.close();
    else if (key === "Enter") this.confirm();
    else if (key === "ArrowDown" || (key === "j" && !inFilter)) this.render(this.active + 1);
    else if (key === "ArrowUp" || (key === "k" && !inFilter)) this.render(Math.max(0, this.active - 1));
    else if (key === "Tab" || inFilter) return;
    else if (/^[1-9]$/.test(key) && this.shown.some((o) => o.key === key)) {
      this.choose(this.shown.find((o) => o.key === key).value);
    } else if (this.filter && key === "/") this.filter.focus();
    else if (this.filter && key.length === 1) {
      this.filter.value += key; // typing filters the list
      this.filter.focus();
      this.render(0);
    } else return;
    event.preventDefault();
  }

  confirm() {
    const option = this.shown[this.active];
    if (option) this.choose(option.value);
  }

  choose(value) {
    const done = this.done;
    this.close();
    done(value);
  }

  close() {
    this.root.hidden = true;
    if (state.chooser === this) state.chooser = null;
    focusQueue();
  }
}

class ReasonChooser extends ListChooser {
  open(item, action) {
    const options = config.reasons.map((reason, index) => ({
      value: reason,
      key: index < 9 ? String(index + 1) : "",
      label: label("reason", reason),
      search: reason,
    }));
    this.root.dataset.action = action;
    this.show(options, 0, (reason) => command(action, item, { reason }));
  }
}

class MergeChooser extends ListChooser {
  open(item) {
    const suggested = suggestions(item);
    const others = [...state.items.values()]
      .filter((q) => isMergeTarget(q.id, item.id) && !suggested.includes(q.id))
      .sort((a, b) => (isAfter(a.id, b.id) ? -1 : 1))
      .map((q) => q.id);
    const options = [...suggested, ...others].map((id) => {
      const target = state.items.get(id);
      return {
        value: id,
        suggested: suggested.includes(id),
        label: clip(target.text),
        detail: `${label("item", target.status)} · ${format(S.votes, { n: target.votes })}`,
        search: `${target.name}\n${target.text}`.toLocaleLowerCase(),
      };
    });
    this.show(options, 0, (into) => command("merge", item, { into }));
  }
}

class TagChooser {
  constructor() {
    this.root = document.querySelector('[data-chooser="tag"]');
    this.topic = this.root.querySelector('[data-tag="topic"]');
    this.district = this.root.querySelector('[data-tag="district"]');
    this.root.querySelector("[data-confirm]").addEventListener("click", () => this.confirm());
    this.root.querySelector("[data-cancel]").addEventListener("click", () => this.close());
  }

  open(item) {
    this.item = item;
    fill(this.topic, ["", ...config.topics], (t) => (t ? label("topic", t) : S.topic_none));
    const districts = new Set(["", ...config.districts, item.district, item.suggested_district]);
    fill(this.district, [...districts], (d) => d || S.district_none);
    this.topic.value = item.topic || item.suggested_topic || "";
    this.district.value = item.district || item.suggested_district || "";
    this.root.hidden = false;
    state.chooser = this;
    this.topic.focus();
  }

  key(event) {
    if (event.target.tagName === "BUTTON" && (event.key === "Enter" || event.key === " ")) return;
    if (event.key === "Escape") this.close();
    else if (event.key === "Enter") this.confirm();
    else return; // arrows and letters change the focused select; Tab moves between them
    event.preventDefault();
  }

  confirm() {
    const item = this.item;
    const values = { topic: this.topic.value, district: this.district.value };
    this.close();
    command("tag", item, values);
  }

  close() {
    this.root.hidden = true;
    if (state.chooser === this) state.chooser = null;
    focusQueue();
  }
}

function fill(select, values, text) {
  select.replaceChildren(
    ...values.map((value) => {
      const option = element("option", "", text(value));
      option.value = value;
      return option;
    }),
  );
}

export const reasonChooser = new ReasonChooser("reason");
export const mergeChooser = new MergeChooser("merge");
export const tagChooser = new TagChooser();

// Help

const helpChooser = {
  key(event) {
    if (event.key === "Escape" || event.key === "?") {
      event.preventDefault();
      this.close();
    }
  },
  close() {
    help.hidden = true;
    helpButton.setAttribute("aria-expanded", "false");
    if (state.chooser === helpChooser) state.chooser = null;
    focusQueue();
  },
};

export function openHelp() {
  help.hidden = false;
  helpButton.setAttribute("aria-expanded", "true");
  state.chooser = helpChooser;
  help.focus();
}

helpButton.addEventListener("click", () => (help.hidden ? openHelp() : helpChooser.close()));
help.querySelector("[data-cancel]").addEventListener("click", () => helpChooser.close());
