export async function runCocoeval(_a: { gt: string; dt: string; useCats: boolean; json?: string }): Promise<void> { throw new Error("not built yet"); }
