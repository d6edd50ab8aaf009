import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';

/** A screen: its heading is the document title too, so a screen reader and the tab bar say where you are. */
export function Page({ title, intro, children }: { title: string; intro?: ComponentChildren; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · personae`;
  }, [title]);
  return (
    <section class="page" aria-labelledby="page-title">
      <h1 id="page-title">{title}</h1>
      {intro && <p class="lead">{intro}</p>}
      {children}
    </section>
  );
}
