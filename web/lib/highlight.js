// Query terms marked in a passage: every text node under an element is split around the
// terms (case-insensitive), which are wrapped in <mark>. Terms are words of three
// letters or more, as the search service picks them for its snippets.

export function terms(query) {
  const words = query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(words.filter((word) => word.length > 2))];
}

function escape(term) {
  return term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Wrap each occurrence of `words` under `root` in <mark>; answers how many. */
export function highlight(root, words) {
  if (words.length === 0) return 0;
  const pattern = new RegExp(`(${words.map(escape).join('|')})`, 'giu');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  let marked = 0;
  for (const node of nodes) {
    const parts = node.data.split(pattern);
    if (parts.length === 1) continue;
    const replacement = document.createDocumentFragment();
    parts.forEach((part, i) => {
      if (!part) return;
      if (i % 2 === 1) {
        const mark = document.createElement('mark');
        mark.textContent = part;
        replacement.append(mark);
        marked += 1;
      } else replacement.append(document.createTextNode(part));
    });
    node.replaceWith(replacement);
  }
  return marked;
}
