/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nommu syscall entry and exit, after arch/x86/um/nommu/entry_64.S of the
 * "x86/um: nommu: syscall handling" series (final form).
 *
 * Every guest `syscall` arrives here: the CPU backend applies the hardware
 * semantics (rcx = return address, r11 = rflags) and continues at
 * __kernel_vsyscall, or a libc jumps here itself with rcx set.
 *
 * Registers on entry:
 *   rax  system call number
 *   rcx  return address
 *   rdi, rsi, rdx, r10, r8, r9  arguments 0..5
 *   r11  may be clobbered (caller-saved in the C ABI, and `syscall` clobbers it)
 *
 * The shim builds struct pt_regs (168 bytes) at current_ptregs with pushes,
 * switches to current_top_of_stack and calls do_syscall_64, a trap into the
 * TypeScript kernel. The kernel runs the syscall and the exit work
 * (scheduling, signal delivery); it may change current_ptregs to another
 * task's, so the exit path restores whatever task is current now.
 *
 * One CPU (no SMP): the two globals live in the vvar page, written only by the
 * kernel while no guest code runs.
 */
#define ENOSYS		38
#define SIZEOF_PTREGS	168

	.text
	.balign	16
	.globl	__kernel_vsyscall
	.type	__kernel_vsyscall, @function
__kernel_vsyscall:
	movq	%rsp, %r11

	/* Point rsp just past this task's pt_regs, then fill it with pushes. */
	movq	current_ptregs(%rip), %rsp
	leaq	SIZEOF_PTREGS(%rsp), %rsp	/* lea, not add: flags are pushed next */

	pushq	$0			/* pt_regs->ss */
	pushq	%r11			/* pt_regs->sp */
	pushfq				/* pt_regs->flags */
	pushq	$0			/* pt_regs->cs */
	pushq	%rcx			/* pt_regs->ip */
	pushq	%rax			/* pt_regs->orig_ax */

	/* PUSH_AND_CLEAR_REGS rax=$-ENOSYS */
	pushq	%rdi			/* pt_regs->di */
	pushq	%rsi			/* pt_regs->si */
	pushq	%rdx			/* pt_regs->dx */
	pushq	%rcx			/* pt_regs->cx */
	pushq	$-ENOSYS		/* pt_regs->ax */
	pushq	%r8			/* pt_regs->r8 */
	pushq	%r9			/* pt_regs->r9 */
	pushq	%r10			/* pt_regs->r10 */
	pushq	%r11			/* pt_regs->r11 */
	pushq	%rbx			/* pt_regs->bx */
	pushq	%rbp			/* pt_regs->bp */
	pushq	%r12			/* pt_regs->r12 */
	pushq	%r13			/* pt_regs->r13 */
	pushq	%r14			/* pt_regs->r14 */
	pushq	%r15			/* pt_regs->r15 */
	xorl	%esi, %esi
	xorl	%edx, %edx
	xorl	%ecx, %ecx
	xorl	%r8d, %r8d
	xorl	%r9d, %r9d
	xorl	%r10d, %r10d
	xorl	%r11d, %r11d
	xorl	%ebx, %ebx
	xorl	%ebp, %ebp
	xorl	%r12d, %r12d
	xorl	%r13d, %r13d
	xorl	%r14d, %r14d
	xorl	%r15d, %r15d

	movq	%rsp, %rdi

	/* Switch to the current task's kernel stack. */
	movq	current_top_of_stack(%rip), %rsp

	call	do_syscall_64

	.globl	__kernel_vsyscall_exit
__kernel_vsyscall_exit:
	movq	current_ptregs(%rip), %rsp

	/* POP_REGS */
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbp
	popq	%rbx
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rax
	popq	%rcx
	popq	%rdx
	popq	%rsi
	popq	%rdi

	leaq	8(%rsp), %rsp		/* skip orig_ax */
	popq	%rcx			/* pt_regs->ip */
	leaq	8(%rsp), %rsp		/* skip cs */
	popfq				/* pt_regs->flags: restored, as sysret restores r11 */
	popq	%rsp

	/* Not ret: the user stack is already restored. */
	jmp	*%rcx
	.size	__kernel_vsyscall, . - __kernel_vsyscall

/*
 * do_syscall_64(struct pt_regs *regs): the kernel is TypeScript. The backend
 * recognises a `syscall` at exactly this address as a call into the kernel and
 * stops; the kernel reads pt_regs from guest RAM, dispatches and runs the exit
 * work, then resumes at the `ret`.
 */
	.balign	16
	.globl	do_syscall_64
	.type	do_syscall_64, @function
do_syscall_64:
	.globl	__nommu_kernel_trap
__nommu_kernel_trap:
	syscall
	ret
	/* Room for a backend to patch in a jump to its own trap (the native backend does). */
	.fill	14, 1, 0xcc
	.size	do_syscall_64, . - do_syscall_64

	.section .vvar, "aw", @progbits
	.balign	8
	.globl	current_ptregs
current_ptregs:		.quad	0
	.globl	current_top_of_stack
current_top_of_stack:	.quad	0
