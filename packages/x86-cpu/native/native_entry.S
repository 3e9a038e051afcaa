/*
 * Native backend: the switch between the host (Node) and guest code running
 * directly on this CPU, in the same thread and address space (the nommu model).
 *
 * Guest mode is exactly "nn_selector == SYSCALL_DISPATCH_FILTER_BLOCK": Syscall
 * User Dispatch then turns every guest `syscall` into SIGSYS, which the addon's
 * handler redirects to the vDSO's __kernel_vsyscall. Guest state lives in
 * nn_guest (layout: Reg order of src/backend.ts, then the stop record, then an
 * XSAVE image at offset 256); host state that must survive the guest lives in
 * the nn_host_* words. Everything here addresses them RIP-relative, so no
 * register is needed to find them while the guest's registers are live.
 */
	.equ	G_RAX, 0
	.equ	G_RBX, 8
	.equ	G_RCX, 16
	.equ	G_RDX, 24
	.equ	G_RSI, 32
	.equ	G_RDI, 40
	.equ	G_RBP, 48
	.equ	G_RSP, 56
	.equ	G_R8, 64
	.equ	G_R9, 72
	.equ	G_R10, 80
	.equ	G_R11, 88
	.equ	G_R12, 96
	.equ	G_R13, 104
	.equ	G_R14, 112
	.equ	G_R15, 120
	.equ	G_RIP, 128
	.equ	G_RFLAGS, 136
	.equ	G_FS, 144
	.equ	G_GS, 152
	.equ	G_XSAVE, 256

	.equ	FILTER_ALLOW, 0
	.equ	FILTER_BLOCK, 1
	.equ	STOP_KERNEL_CALL, 1

	.text

/* uint64_t nommu_native_enter(void): runs the guest; returns the stop reason. */
	.globl	nommu_native_enter
	.hidden	nommu_native_enter
	.type	nommu_native_enter, @function
nommu_native_enter:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushfq
	movq	%rsp, nn_host_rsp(%rip)
	stmxcsr	nn_host_mxcsr(%rip)
	fnstcw	nn_host_fcw(%rip)
	rdfsbase %rax
	movq	%rax, nn_host_fs(%rip)
	rdgsbase %rax
	movq	%rax, nn_host_gs(%rip)

	movl	nn_xsave_mask(%rip), %eax
	movl	nn_xsave_mask+4(%rip), %edx
	xrstor64 nn_guest+G_XSAVE(%rip)
	movq	nn_guest+G_FS(%rip), %rax
	wrfsbase %rax
	movq	nn_guest+G_GS(%rip), %rax
	wrgsbase %rax

	/* From here on a `syscall` is the guest's. */
	movb	$FILTER_BLOCK, nn_selector(%rip)
	pushq	nn_guest+G_RFLAGS(%rip)
	popfq
	movq	nn_guest+G_RAX(%rip), %rax
	movq	nn_guest+G_RBX(%rip), %rbx
	movq	nn_guest+G_RCX(%rip), %rcx
	movq	nn_guest+G_RDX(%rip), %rdx
	movq	nn_guest+G_RSI(%rip), %rsi
	movq	nn_guest+G_RDI(%rip), %rdi
	movq	nn_guest+G_RBP(%rip), %rbp
	movq	nn_guest+G_R8(%rip), %r8
	movq	nn_guest+G_R9(%rip), %r9
	movq	nn_guest+G_R10(%rip), %r10
	movq	nn_guest+G_R11(%rip), %r11
	movq	nn_guest+G_R12(%rip), %r12
	movq	nn_guest+G_R13(%rip), %r13
	movq	nn_guest+G_R14(%rip), %r14
	movq	nn_guest+G_R15(%rip), %r15
	movq	nn_guest+G_RSP(%rip), %rsp
	jmp	*nn_guest+G_RIP(%rip)
	.size	nommu_native_enter, . - nommu_native_enter

/*
 * The kernel trap without a signal: the vDSO's do_syscall_64 is patched to
 * jump here (see patch_trap in native_backend.c). Guest registers are live;
 * the guest resumes later at the `ret` after the trap.
 */
	.globl	nommu_native_kcall
	.hidden	nommu_native_kcall
	.type	nommu_native_kcall, @function
nommu_native_kcall:
	movb	$FILTER_ALLOW, nn_selector(%rip)
	movq	%rax, nn_guest+G_RAX(%rip)
	movq	%rbx, nn_guest+G_RBX(%rip)
	movq	%rcx, nn_guest+G_RCX(%rip)
	movq	%rdx, nn_guest+G_RDX(%rip)
	movq	%rsi, nn_guest+G_RSI(%rip)
	movq	%rdi, nn_guest+G_RDI(%rip)
	movq	%rbp, nn_guest+G_RBP(%rip)
	movq	%r8, nn_guest+G_R8(%rip)
	movq	%r9, nn_guest+G_R9(%rip)
	movq	%r10, nn_guest+G_R10(%rip)
	movq	%r11, nn_guest+G_R11(%rip)
	movq	%r12, nn_guest+G_R12(%rip)
	movq	%r13, nn_guest+G_R13(%rip)
	movq	%r14, nn_guest+G_R14(%rip)
	movq	%r15, nn_guest+G_R15(%rip)
	movq	%rsp, nn_guest+G_RSP(%rip)
	movq	nn_host_rsp(%rip), %rsp
	pushfq
	popq	nn_guest+G_RFLAGS(%rip)
	movq	nn_trap_resume(%rip), %rax
	movq	%rax, nn_guest+G_RIP(%rip)
	movl	$STOP_KERNEL_CALL, %eax
	jmp	nommu_native_leave
	.size	nommu_native_kcall, . - nommu_native_kcall

/*
 * Common way back to the host, with rax = stop reason, rsp = the host stack,
 * the guest's general registers already in nn_guest and its FP state, FS and
 * GS still live. Signal handlers reach it by rewriting their ucontext.
 */
	.globl	nommu_native_leave
	.hidden	nommu_native_leave
	.type	nommu_native_leave, @function
nommu_native_leave:
	movq	%rax, %rbx
	movl	nn_xsave_mask(%rip), %eax
	movl	nn_xsave_mask+4(%rip), %edx
	xsave64	nn_guest+G_XSAVE(%rip)
	rdfsbase %rax
	movq	%rax, nn_guest+G_FS(%rip)
	rdgsbase %rax
	movq	%rax, nn_guest+G_GS(%rip)
	movq	nn_host_fs(%rip), %rax
	wrfsbase %rax
	movq	nn_host_gs(%rip), %rax
	wrgsbase %rax
	/* The host's ABI: empty x87 stack, its own control words, clean upper halves. */
	fninit
	fldcw	nn_host_fcw(%rip)
	ldmxcsr	nn_host_mxcsr(%rip)
	cmpb	$0, nn_has_avx(%rip)
	je	1f
	vzeroupper
1:
	movq	%rbx, %rax
	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.size	nommu_native_leave, . - nommu_native_leave

/*
 * sa_restorer of the addon's handlers. Syscall User Dispatch never dispatches
 * a syscall made from [nommu_native_restorer, nommu_native_restorer_end), so
 * rt_sigreturn works whatever the selector says.
 */
	.globl	nommu_native_restorer
	.hidden	nommu_native_restorer
	.type	nommu_native_restorer, @function
nommu_native_restorer:
	movl	$15, %eax
	syscall
	.globl	nommu_native_restorer_end
	.hidden	nommu_native_restorer_end
nommu_native_restorer_end:
	ud2
	.size	nommu_native_restorer, . - nommu_native_restorer

	.section .note.GNU-stack, "", @progbits
