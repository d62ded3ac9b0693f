/**
 * Delta debugging (Zeller's ddmin) over an event list: the smallest sub-list (1-minimal within the
 * budget) for which `fails` still holds. Replays are expensive — each one runs a schedule — so the
 * number of tries is bounded; the best list found so far is returned when the budget runs out.
 */
export async function ddmin<T>(items: T[], fails: (candidate: T[]) => Promise<boolean>, budget = { tries: 40 }): Promise<{ items: T[]; tries: number }> {
  let current = items;
  let n = 2;
  let tries = 0;
  while (current.length >= 2 && tries < budget.tries) {
    const chunk = Math.ceil(current.length / n);
    const subsets: T[][] = [];
    for (let i = 0; i < current.length; i += chunk) subsets.push(current.slice(i, i + chunk));
    let reduced = false;
    // Try each subset, then each complement.
    for (const candidate of [...subsets, ...subsets.map((_, i) => subsets.filter((__, j) => j !== i).flat())]) {
      if (tries >= budget.tries) break;
      if (candidate.length === 0 || candidate.length === current.length) continue;
      tries++;
      if (await fails(candidate)) {
        current = candidate;
        n = subsets.includes(candidate) ? 2 : Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= current.length) break;
      n = Math.min(current.length, n * 2);
    }
  }
  return { items: current, tries };
}
