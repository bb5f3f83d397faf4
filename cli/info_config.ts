export function printConfigInfo(_c: string, _s: string[], _i: number, _j: boolean): void { throw new Error('configs are not built yet'); }
