// Building the page with DOM calls only: text is always a text node, never markup, and no
// element gets a style attribute (the Content-Security-Policy allows neither inline).

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(element, props) {
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') element.setAttribute('class', value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else element.setAttribute(name, value === true ? '' : String(value));
  }
}

export function append(parent, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** An element: h('a', {href: '#/'}, 'Home'). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  apply(element, props);
  return append(element, ...children);
}

/** An SVG element, for sparklines. */
export function svg(tag, props = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  apply(element, props);
  return append(element, ...children);
}

/** Replace what `parent` holds. */
export function fill(parent, ...children) {
  parent.replaceChildren();
  return append(parent, ...children);
}

let ids = 0;
/** A document-unique id, for label/aria references. */
export function uniqueId(prefix) {
  ids += 1;
  return `${prefix}-${ids}`;
}
