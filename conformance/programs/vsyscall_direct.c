/* Looks for __kernel_vsyscall in the vDSO (AT_SYSINFO_EHDR) by walking its
 * dynamic symbol table (symbol count from DT_HASH or DT_GNU_HASH). A real
 * x86-64 Linux vDSO has no such symbol: then it prints "no __kernel_vsyscall"
 * and exits 0. If the symbol exists (nommu's vDSO), it is called directly:
 *
 *   rax = syscall number, args in rdi rsi rdx r10 r8 r9, rcx = return
 *   address, then jmp (not call) to the entry; it returns with `jmp *%rcx`,
 *   rsp unchanged, result in rax; rcx and r11 are clobbered.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

static long direct_syscall(const void *entry, long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
			 "jmp *%[entry]\n"
			 "1:"
			 : "=a"(ret), "+r"(r10), "+r"(r8), "+r"(r9)
			 : [entry] "r"(entry), "0"(nr), "D"(a1), "S"(a2), "d"(a3)
			 : "rcx", "r11", "memory", "cc");
	return ret;
}

/* Number of symbols according to a SysV hash table: nchain. */
static size_t count_sysv(const uint32_t *hash)
{
	return hash[1];
}

/* Number of symbols according to a GNU hash table: one past the highest
 * symbol index reachable from the buckets. */
static size_t count_gnu(const uint32_t *gh)
{
	uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2];
	const uint64_t *bloom = (const uint64_t *)(gh + 4);
	const uint32_t *buckets = (const uint32_t *)(bloom + bloom_size);
	const uint32_t *chain = buckets + nbuckets;
	uint32_t last = 0;
	for (uint32_t i = 0; i < nbuckets; i++)
		if (buckets[i] > last)
			last = buckets[i];
	if (last < symoffset)
		return symoffset;
	while (!(chain[last - symoffset] & 1))
		last++;
	return (size_t)last + 1;
}

int main(void)
{
	const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	if (!base) {
		printf("no vDSO\n");
		printf("no __kernel_vsyscall\n");
		return 0;
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) {
		printf("vDSO is not an ELF64 image\n");
		return 1;
	}
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
	const Elf64_Dyn *dyn = NULL;
	uintptr_t bias = 0;
	int have_load = 0;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_load) {
			bias = (uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
			have_load = 1;
		}
	}
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const Elf64_Dyn *)(bias + ph[i].p_vaddr);
	if (!have_load || !dyn) {
		printf("vDSO has no PT_LOAD or PT_DYNAMIC\n");
		return 1;
	}

	const Elf64_Sym *symtab = NULL;
	const char *strtab = NULL;
	const uint32_t *hash = NULL, *gnuhash = NULL;
	for (const Elf64_Dyn *d = dyn; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_SYMTAB: symtab = (const Elf64_Sym *)(bias + d->d_un.d_ptr); break;
		case DT_STRTAB: strtab = (const char *)(bias + d->d_un.d_ptr); break;
		case DT_HASH: hash = (const uint32_t *)(bias + d->d_un.d_ptr); break;
		case DT_GNU_HASH: gnuhash = (const uint32_t *)(bias + d->d_un.d_ptr); break;
		}
	}
	if (!symtab || !strtab || (!hash && !gnuhash)) {
		printf("vDSO lacks DT_SYMTAB, DT_STRTAB or a hash table\n");
		return 1;
	}
	size_t nsyms = hash ? count_sysv(hash) : count_gnu(gnuhash);
	if (hash && gnuhash && count_gnu(gnuhash) > nsyms) {
		printf("vDSO DT_HASH and DT_GNU_HASH disagree\n");
		return 1;
	}

	const void *entry = NULL;
	for (size_t i = 1; i < nsyms; i++) {
		const Elf64_Sym *s = &symtab[i];
		if (s->st_shndx == SHN_UNDEF || s->st_name == 0)
			continue;
		if (strcmp(strtab + s->st_name, "__kernel_vsyscall") == 0) {
			entry = (const void *)(bias + s->st_value);
			break;
		}
	}
	if (!entry) {
		printf("no __kernel_vsyscall\n");
		return 0;
	}

	long pid = direct_syscall(entry, SYS_getpid, 0, 0, 0, 0, 0, 0);
	fflush(stdout);
	long w = direct_syscall(entry, SYS_write, 1, (long)"direct write\n", 13, 0, 0, 0);
	printf("direct getpid matches: %s\n", pid == (long)getpid() ? "yes" : "no");
	printf("direct write returned %ld\n", w);
	return pid == (long)getpid() && w == 13 ? 0 : 1;
}
