export const PAGE_SIZE = 4096;
export const pageUp = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
export const pageDown = (n: number): number => Math.floor(n / PAGE_SIZE) * PAGE_SIZE;
