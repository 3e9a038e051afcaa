/* System V IPC: shared memory segments (shmget, shmat, shmdt, shmctl),
 * semaphore sets (semget, semop, semtimedop, semctl) and message queues
 * (msgget, msgsnd, msgrcv, msgctl). Keys, IPC_CREAT/IPC_EXCL, IPC_STAT,
 * IPC_SET, IPC_RMID and the limits IPC_INFO reports; a segment shared with a
 * forked child and detached by exit and exec; semaphores and messages that
 * block one process until another acts, SEM_UNDO at exit, EINTR, EIDRM; and
 * the errors. Every object is removed before the program ends. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "expect.h"

#ifndef SHM_REMAP
#define SHM_REMAP 040000
#endif
#ifndef SHM_DEST
#define SHM_DEST 01000
#endif

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static int wait_child(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static pid_t fork_flushed(void)
{
	fflush(stdout);
	return fork();
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static long elapsed_ms(const struct timespec *from)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - from->tv_sec) * 1000 + (now.tv_nsec - from->tv_nsec) / 1000000;
}

static unsigned long nattch(int id)
{
	struct shmid_ds ds;
	return shmctl(id, IPC_STAT, &ds) == 0 ? (unsigned long)ds.shm_nattch : 9999;
}

static int semval(int id, int n)
{
	return semctl(id, n, GETVAL);
}

static int semop1(int id, unsigned short num, short op, short flg)
{
	struct sembuf b = { num, op, flg };
	return semop(id, &b, 1);
}

/* Polls until GETNCNT (or GETZCNT) of semaphore `n` is `want`: another process is parked in semop. */
static int wait_count(int id, int n, int cmd, int want)
{
	for (int i = 0; i < 2000; i++) {
		if (semctl(id, n, cmd) == want)
			return 1;
		pause_ms(1);
	}
	return 0;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* Run again by exec: exits 0 if the segment `argv[2]` has exactly one attachment (the parent's). */
static int exec_child(char **argv)
{
	int id = atoi(argv[2]);
	return nattch(id) == 1 ? 0 : 1;
}

static struct msgbuf_ {
	long mtype;
	char mtext[256];
} mb;

static int qsend(int q, long type, const char *text, int flags)
{
	struct msgbuf_ m;
	m.mtype = type;
	strcpy(m.mtext, text);
	return msgsnd(q, &m, strlen(text) + 1, flags);
}

static void shared_memory(const char *self)
{
	key_t key = 0x4e4d0000 | (getpid() & 0xffff);

	EXPECT_ERR(shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600), EINVAL, "shmget(size 0)");
	int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0600);
	check(id >= 0, "shmget(IPC_PRIVATE, 10000)");
	struct shmid_ds ds;
	check(shmctl(id, IPC_STAT, &ds) == 0, "shmctl(IPC_STAT)");
	check(ds.shm_segsz == 10000 && ds.shm_nattch == 0 && ds.shm_cpid == getpid() && ds.shm_lpid == 0, "segsz, nattch 0, cpid is the caller, lpid 0");
	check((ds.shm_perm.mode & 0777) == 0600 && ds.shm_perm.uid == geteuid() && ds.shm_perm.cuid == geteuid() &&
		      ds.shm_perm.gid == getegid() && ds.shm_perm.__key == IPC_PRIVATE,
	      "mode, owner, creator and key");
	check(ds.shm_atime == 0 && ds.shm_dtime == 0 && ds.shm_ctime != 0, "only ctime is set");

	EXPECT_ERR(shmat(id, NULL, SHM_REMAP), EINVAL, "shmat(NULL, SHM_REMAP)");
	EXPECT_ERR(shmat(id, (void *)0x12345, 0), EINVAL, "shmat(unaligned address)");
	EXPECT_ERR(shmat(-1, NULL, 0), EINVAL, "shmat(-1)");
	char *p = shmat(id, NULL, 0);
	check(p != (void *)-1, "shmat(NULL)");
	if (p == (void *)-1)
		return;
	check(((unsigned long)p & 4095) == 0, "the address is page aligned");
	EXPECT_ERR(shmat(id, p, 0), EINVAL, "shmat at its own, mapped address");
	check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1 && ds.shm_lpid == getpid() && ds.shm_atime != 0, "attached: nattch 1, lpid, atime");
	int zero = 1;
	for (int i = 0; i < 10000; i++)
		zero &= p[i] == 0;
	check(zero, "a new segment reads as zeros");
	strcpy(p, "parent");

	/* fork keeps the attachment: the child sees the parent's bytes, writes its own, and exit detaches it. */
	pid_t pid = fork_flushed();
	if (pid == 0) {
		int ok = strcmp(p, "parent") == 0 && nattch(id) == 2;
		strcpy(p + 5000, "child");
		_exit(ok ? 0 : 1);
	}
	check(wait_child(pid) == 0, "the child sees the parent's bytes, nattch 2");
	check(strcmp(p + 5000, "child") == 0, "the parent sees the child's write");
	check(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1 && ds.shm_lpid == pid && ds.shm_dtime != 0, "the child's exit detached it (nattch 1, lpid the child)");

	/* exec detaches too: the new image runs with only the parent attached. */
	pid = fork_flushed();
	if (pid == 0) {
		char arg[32];
		snprintf(arg, sizeof arg, "%d", id);
		execl(self, self, "exec-child", arg, (char *)NULL);
		_exit(2);
	}
	check(wait_child(pid) == 0, "after exec the child is no longer attached");

	/* shmdt */
	EXPECT_ERR(shmdt(p + 1), EINVAL, "shmdt(unaligned)");
	void *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_ERR(shmdt(anon), EINVAL, "shmdt(not an attachment)");
	munmap(anon, 4096);
	check(shmdt(p) == 0 && nattch(id) == 0, "shmdt: nattch 0");
	EXPECT_ERR(shmdt(p), EINVAL, "shmdt again");

	/* The bytes stay in the segment while it exists. */
	p = shmat(id, NULL, 0);
	check(p != (void *)-1 && strcmp(p, "parent") == 0 && strcmp(p + 5000, "child") == 0, "attached again: the bytes are still there");

	/* IPC_SET */
	ds.shm_perm.mode = 0640;
	check(shmctl(id, IPC_SET, &ds) == 0 && shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & 0777) == 0640, "IPC_SET mode 0640");

	/* IPC_RMID while attached: the segment lives on, marked, until its last detach. */
	check(shmctl(id, IPC_RMID, NULL) == 0, "IPC_RMID while attached");
	check(shmctl(id, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST) != 0 && ds.shm_nattch == 1, "still there, SHM_DEST, nattch 1");
	pid = fork_flushed();
	if (pid == 0) {
		strcpy(p + 100, "after rmid");
		_exit(shmdt(p) == 0 ? 0 : 1);
	}
	check(wait_child(pid) == 0 && strcmp(p + 100, "after rmid") == 0, "a child still writes to it after IPC_RMID");
	check(shmdt(p) == 0, "the last shmdt");
	EXPECT_ERR(shmctl(id, IPC_STAT, &ds), EINVAL, "then the id is gone");

	/* Keys */
	int k1 = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
	check(k1 >= 0, "shmget(key, IPC_CREAT | IPC_EXCL)");
	EXPECT_ERR(shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "shmget(same key, IPC_CREAT | IPC_EXCL)");
	check(shmget(key, 4096, IPC_CREAT | 0600) == k1 && shmget(key, 0, 0) == k1, "shmget(key) finds it");
	EXPECT_ERR(shmget(key, 8192, 0), EINVAL, "shmget(key, larger size)");
	EXPECT_ERR(shmget(key ^ 0x8000, 4096, 0), ENOENT, "shmget(unknown key) without IPC_CREAT");
	check(shmctl(k1, IPC_STAT, &ds) == 0 && ds.shm_perm.__key == key && ds.shm_segsz == 4096, "IPC_STAT shows the key");
	char *q = shmat(k1, NULL, 0);
	check(q != (void *)-1, "shmat(keyed)");
	char want[64];
	snprintf(want, sizeof want, "/SYSV%08x (deleted)", (unsigned)key);
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	int seen = 0;
	while (maps && fgets(line, sizeof line, maps)) {
		line[strcspn(line, "\n")] = 0;
		size_t n = strlen(line), w = strlen(want);
		if (n >= w && strcmp(line + n - w, want) == 0 && strtoul(line, NULL, 16) == (unsigned long)q)
			seen = strstr(line, " rw-s ") != NULL;
	}
	if (maps)
		fclose(maps);
	check(seen, "/proc/self/maps: rw-s /SYSV<key> (deleted)");
	check(shmctl(k1, IPC_RMID, NULL) == 0, "IPC_RMID(keyed)");
	check(shmctl(k1, IPC_STAT, &ds) == 0 && ds.shm_perm.__key == IPC_PRIVATE, "a removed segment's key is IPC_PRIVATE");
	EXPECT_ERR(shmget(key, 0, 0), ENOENT, "and the key finds nothing");
	check(shmdt(q) == 0, "shmdt(keyed)");

	/* SHM_RDONLY: reads work, a write faults. */
	int ro = shmget(IPC_PRIVATE, 4096, 0600);
	char *r = shmat(ro, NULL, SHM_RDONLY);
	check(r != (void *)-1 && r[0] == 0, "shmat(SHM_RDONLY) reads");
	pid = fork_flushed();
	if (pid == 0) {
		*(volatile char *)r = 1;
		_exit(0);
	}
	check(wait_child(pid) == 1000 + SIGSEGV, "a write to a SHM_RDONLY attachment is SIGSEGV");
	check(shmdt(r) == 0 && shmctl(ro, IPC_RMID, NULL) == 0, "shmdt, IPC_RMID");

	/* shmctl errors and limits */
	EXPECT_ERR(shmctl(-1, IPC_STAT, &ds), EINVAL, "shmctl(-1)");
	EXPECT_ERR(shmctl(ro, IPC_STAT, &ds), EINVAL, "shmctl(removed id)");
	int tmp = shmget(IPC_PRIVATE, 4096, 0600);
	EXPECT_ERR(shmctl(tmp, 12345, &ds), EINVAL, "shmctl(unknown command)");
	struct shminfo info;
	check(shmctl(0, IPC_INFO, (struct shmid_ds *)&info) >= 0, "shmctl(IPC_INFO)");
	check(info.shmmni == 4096 && info.shmmin == 1 && info.shmmax == 18446744073692774399UL && info.shmall == 18446744073692774399UL, "SHMMNI 4096, SHMMIN 1, SHMMAX, SHMALL");
	struct shm_info sinfo;
	check(shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo) >= 0 && sinfo.used_ids >= 1, "shmctl(SHM_INFO) counts the segment");
	check(shmctl(tmp, IPC_RMID, NULL) == 0, "IPC_RMID");
}

static void semaphores(void)
{
	EXPECT_ERR(semget(IPC_PRIVATE, 0, 0600), EINVAL, "semget(0 semaphores)");
	EXPECT_ERR(semget(IPC_PRIVATE, 32001, 0600), EINVAL, "semget(32001 semaphores)");
	int id = semget(IPC_PRIVATE, 3, 0600);
	check(id >= 0, "semget(IPC_PRIVATE, 3)");
	struct semid_ds ds;
	union semun arg = { .buf = &ds };
	check(semctl(id, 0, IPC_STAT, arg) == 0 && ds.sem_nsems == 3 && ds.sem_otime == 0 && ds.sem_ctime != 0 && (ds.sem_perm.mode & 0777) == 0600,
	      "IPC_STAT: 3 semaphores, no semop yet");
	check(semval(id, 0) == 0 && semval(id, 1) == 0 && semval(id, 2) == 0, "values start at 0");

	arg.val = 5;
	check(semctl(id, 0, SETVAL, arg) == 0 && semval(id, 0) == 5 && semctl(id, 0, GETPID) == getpid(), "SETVAL 5, GETVAL, GETPID");
	arg.val = 32768;
	EXPECT_ERR(semctl(id, 0, SETVAL, arg), ERANGE, "SETVAL 32768");
	arg.val = -1;
	EXPECT_ERR(semctl(id, 0, SETVAL, arg), ERANGE, "SETVAL -1");
	EXPECT_ERR(semctl(id, 3, GETVAL), EINVAL, "GETVAL(semnum 3)");
	unsigned short all[3] = { 1, 2, 3 }, got[3] = { 0, 0, 0 };
	arg.array = all;
	check(semctl(id, 0, SETALL, arg) == 0, "SETALL 1 2 3");
	arg.array = got;
	check(semctl(id, 0, GETALL, arg) == 0 && got[0] == 1 && got[1] == 2 && got[2] == 3, "GETALL 1 2 3");

	/* All operations or none. */
	struct sembuf two[2] = { { 0, -1, IPC_NOWAIT }, { 1, -5, IPC_NOWAIT } };
	EXPECT_ERR(semop(id, two, 2), EAGAIN, "semop(-1, -5) with IPC_NOWAIT");
	check(semval(id, 0) == 1 && semval(id, 1) == 2, "nothing changed");
	two[1].sem_op = -2;
	check(semop(id, two, 2) == 0 && semval(id, 0) == 0 && semval(id, 1) == 0, "semop(-1, -2) takes both");
	struct sembuf seq[2] = { { 2, -3, 0 }, { 2, 1, 0 } };
	check(semop(id, seq, 2) == 0 && semval(id, 2) == 1, "operations apply in order");
	check(semctl(id, 0, IPC_STAT, (union semun){ .buf = &ds }) == 0 && ds.sem_otime != 0, "sem_otime is set");
	EXPECT_ERR(semop1(id, 2, 0, IPC_NOWAIT), EAGAIN, "wait-for-zero on 1 with IPC_NOWAIT");
	EXPECT_ERR(semop1(id, 3, 1, 0), EFBIG, "semop(semnum 3)");
	EXPECT_ERR(semop(id, two, 0), EINVAL, "semop(0 operations)");
	static struct sembuf many[501];
	EXPECT_ERR(semop(id, many, 501), E2BIG, "semop(501 operations)");
	arg.val = 32767;
	semctl(id, 0, SETVAL, arg);
	EXPECT_ERR(semop1(id, 0, 1, 0), ERANGE, "semop past 32767");
	arg.val = 0;
	semctl(id, 0, SETVAL, arg);

	/* semtimedop: the timeout is EAGAIN. */
	struct timespec t0, to = { 0, 50 * 1000000L };
	struct sembuf dec = { 0, -1, 0 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	int rc = semtimedop(id, &dec, 1, &to);
	check(rc == -1 && errno == EAGAIN && elapsed_ms(&t0) >= 40, "semtimedop(50 ms) -> EAGAIN after the timeout");

	/* Blocking between processes: the parent waits in semop until the child adds. */
	pid_t pid = fork_flushed();
	if (pid == 0) {
		if (!wait_count(id, 0, GETNCNT, 1))
			_exit(1);
		_exit(semop1(id, 0, 1, 0) == 0 ? 0 : 2);
	}
	check(semop1(id, 0, -1, 0) == 0, "semop(-1) blocks until the child's +1");
	check(wait_child(pid) == 0, "the child saw GETNCNT 1 while the parent waited");
	check(semval(id, 0) == 0 && semctl(id, 0, GETPID) == getpid(), "the value is 0, GETPID the waiter's");

	/* Waiting for zero. */
	arg.val = 1;
	semctl(id, 2, SETVAL, arg);
	pid = fork_flushed();
	if (pid == 0)
		_exit(semop1(id, 2, 0, 0) == 0 ? 0 : 1);
	check(wait_count(id, 2, GETZCNT, 1), "GETZCNT 1 while the child waits for zero");
	check(semop1(id, 2, -1, 0) == 0, "the parent takes it to zero");
	check(wait_child(pid) == 0 && semctl(id, 2, GETZCNT) == 0, "the child's wait for zero returns");

	/* SEM_UNDO: a child's adjustments are undone when it exits. */
	arg.val = 1;
	semctl(id, 1, SETVAL, arg);
	pid = fork_flushed();
	if (pid == 0) {
		struct sembuf u[2] = { { 1, -1, SEM_UNDO }, { 0, 3, SEM_UNDO } };
		_exit(semop(id, u, 2) == 0 && semval(id, 0) == 3 && semval(id, 1) == 0 ? 0 : 1);
	}
	check(wait_child(pid) == 0, "the child's semop(SEM_UNDO) took 1 and added 3");
	check(semval(id, 0) == 0 && semval(id, 1) == 1 && semctl(id, 0, GETPID) == pid, "its exit undid both");
	pid = fork_flushed();
	if (pid == 0) {
		if (semop1(id, 0, 2, SEM_UNDO) != 0)
			_exit(1);
		arg.val = 7;
		_exit(semctl(id, 0, SETVAL, arg) == 0 ? 0 : 1);
	}
	check(wait_child(pid) == 0 && semval(id, 0) == 7, "SETVAL clears the adjustment: nothing undone");
	arg.val = 0;
	semctl(id, 0, SETVAL, arg);

	/* A signal ends a wait with EINTR, SA_RESTART or not. */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	pid_t parent = getpid();
	pid = fork_flushed();
	if (pid == 0) {
		if (!wait_count(id, 0, GETNCNT, 1))
			_exit(1);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	errno = 0;
	rc = semop1(id, 0, -1, 0);
	check(rc == -1 && errno == EINTR, "a SA_RESTART handler ends semop with EINTR");
	check(wait_child(pid) == 0 && semctl(id, 0, GETNCNT) == 0, "GETNCNT is 0 again");

	/* IPC_RMID wakes a waiter with EIDRM. */
	pid = fork_flushed();
	if (pid == 0) {
		errno = 0;
		int r = semop1(id, 0, -1, 0);
		_exit(r == -1 && errno == EIDRM ? 0 : 1);
	}
	check(wait_count(id, 0, GETNCNT, 1), "a child waits in semop");
	check(semctl(id, 0, IPC_RMID) == 0, "IPC_RMID");
	check(wait_child(pid) == 0, "the waiting child gets EIDRM");
	EXPECT_ERR(semctl(id, 0, GETVAL), EINVAL, "GETVAL on a removed set");
	EXPECT_ERR(semop1(id, 0, 1, 0), EINVAL, "semop on a removed set");

	/* Keys, limits */
	key_t key = 0x4e4e0000 | (getpid() & 0xffff);
	int k1 = semget(key, 2, IPC_CREAT | IPC_EXCL | 0600);
	check(k1 >= 0, "semget(key, 2, IPC_CREAT | IPC_EXCL)");
	EXPECT_ERR(semget(key, 2, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "semget(same key, IPC_EXCL)");
	EXPECT_ERR(semget(key, 3, 0), EINVAL, "semget(key, more semaphores)");
	check(semget(key, 0, 0) == k1 && semget(key, 2, IPC_CREAT) == k1, "semget(key) finds it");
	struct seminfo si;
	arg.__buf = &si;
	check(semctl(0, 0, IPC_INFO, arg) >= 0 && si.semmsl == 32000 && si.semopm == 500 && si.semvmx == 32767 && si.semmni == 32000,
	      "IPC_INFO: SEMMSL 32000, SEMOPM 500, SEMVMX 32767, SEMMNI 32000");
	EXPECT_ERR(semctl(k1, 0, 12345), EINVAL, "semctl(unknown command)");
	check(semctl(k1, 0, IPC_RMID) == 0, "IPC_RMID(keyed)");
	EXPECT_ERR(semget(key, 0, 0), ENOENT, "the key is gone");
}

static void message_queues(void)
{
	int q = msgget(IPC_PRIVATE, 0600);
	check(q >= 0, "msgget(IPC_PRIVATE)");
	struct msqid_ds ds;
	check(msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qbytes == 16384 && ds.msg_qnum == 0 && ds.msg_stime == 0 && (ds.msg_perm.mode & 0777) == 0600,
	      "IPC_STAT: qbytes 16384, empty");
	EXPECT_ERR(qsend(q, 0, "x", 0), EINVAL, "msgsnd(mtype 0)");
	EXPECT_ERR(msgsnd(q, &mb, 8193, 0), EINVAL, "msgsnd(8193 bytes)");
	check(qsend(q, 3, "three", 0) == 0 && qsend(q, 1, "one", 0) == 0 && qsend(q, 2, "two", 0) == 0 && qsend(q, 5, "five!", 0) == 0, "msgsnd types 3 1 2 5");
	check(msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 4 && ds.__msg_cbytes == 6 + 4 + 4 + 6 && ds.msg_lspid == getpid(), "qnum 4, cbytes 20, lspid");
	check(msgrcv(q, &mb, sizeof mb.mtext, 0, 0) == 6 && mb.mtype == 3 && strcmp(mb.mtext, "three") == 0, "msgrcv(type 0): the first");
	check(msgrcv(q, &mb, sizeof mb.mtext, -4, 0) == 4 && mb.mtype == 1, "msgrcv(type -4): the lowest type <= 4");
	check(msgrcv(q, &mb, sizeof mb.mtext, 5, MSG_EXCEPT) == 4 && mb.mtype == 2, "msgrcv(5, MSG_EXCEPT): the first not 5");
	EXPECT_ERR(msgrcv(q, &mb, sizeof mb.mtext, 7, IPC_NOWAIT), ENOMSG, "msgrcv(type 7, IPC_NOWAIT)");
	EXPECT_ERR(msgrcv(q, &mb, 3, 5, 0), E2BIG, "msgrcv(3-byte buffer)");
	check(msgrcv(q, &mb, 3, 5, MSG_NOERROR) == 3 && memcmp(mb.mtext, "fiv", 3) == 0, "msgrcv(MSG_NOERROR) truncates");
	check(msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 0 && ds.__msg_cbytes == 0 && ds.msg_lrpid == getpid() && ds.msg_rtime != 0, "empty again, lrpid, rtime");
	EXPECT_ERR(msgrcv(q, &mb, sizeof mb.mtext, 0, IPC_NOWAIT), ENOMSG, "msgrcv(empty, IPC_NOWAIT)");

	/* A receiver blocks until another process sends. */
	pid_t pid = fork_flushed();
	if (pid == 0) {
		pause_ms(30);
		_exit(qsend(q, 9, "from the child", 0) == 0 ? 0 : 1);
	}
	check(msgrcv(q, &mb, sizeof mb.mtext, 9, 0) == 15 && strcmp(mb.mtext, "from the child") == 0, "msgrcv blocks until the child sends");
	check(wait_child(pid) == 0 && msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_lspid == pid, "lspid is the child's");

	/* A sender blocks while the queue is full. */
	ds.msg_qbytes = 100;
	check(msgctl(q, IPC_SET, &ds) == 0 && msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qbytes == 100, "IPC_SET qbytes 100");
	memset(mb.mtext, 'a', 60);
	mb.mtype = 1;
	check(msgsnd(q, &mb, 60, 0) == 0, "60 bytes fit");
	EXPECT_ERR(msgsnd(q, &mb, 60, IPC_NOWAIT), EAGAIN, "60 more do not (IPC_NOWAIT)");
	pid = fork_flushed();
	if (pid == 0) {
		pause_ms(30);
		struct msgbuf_ m;
		_exit(msgrcv(q, &m, sizeof m.mtext, 0, 0) == 60 ? 0 : 1);
	}
	check(msgsnd(q, &mb, 60, 0) == 0, "msgsnd blocks until the child receives");
	check(wait_child(pid) == 0 && msgctl(q, IPC_STAT, &ds) == 0 && ds.msg_qnum == 1, "one message left");
	msgrcv(q, &mb, sizeof mb.mtext, 0, 0);

	/* A handler ends msgrcv with EINTR. */
	pid_t parent = getpid();
	pid = fork_flushed();
	if (pid == 0) {
		/* Until the parent is done: a signal that comes before it waits would be lost. */
		for (;;) {
			pause_ms(30);
			kill(parent, SIGUSR1);
		}
	}
	errno = 0;
	long rc = msgrcv(q, &mb, sizeof mb.mtext, 0, 0);
	check(rc == -1 && errno == EINTR, "a SA_RESTART handler ends msgrcv with EINTR");
	kill(pid, SIGKILL);
	check(wait_child(pid) == 1000 + SIGKILL, "the signalling child is gone");

	/* IPC_RMID wakes a waiting receiver with EIDRM. */
	int go[2];
	check(pipe(go) == 0, "pipe");
	pid = fork_flushed();
	if (pid == 0) {
		close(go[0]);
		if (write(go[1], "x", 1) != 1)
			_exit(2);
		errno = 0;
		long r = msgrcv(q, &mb, sizeof mb.mtext, 0, 0);
		_exit(r == -1 && errno == EIDRM ? 0 : 1);
	}
	close(go[1]);
	char c;
	check(read(go[0], &c, 1) == 1, "the child is about to wait");
	close(go[0]);
	pause_ms(100);
	check(msgctl(q, IPC_RMID, NULL) == 0, "IPC_RMID");
	check(wait_child(pid) == 0, "the waiting child gets EIDRM");
	EXPECT_ERR(qsend(q, 1, "x", 0), EINVAL, "msgsnd on a removed queue");
	EXPECT_ERR(msgctl(q, IPC_STAT, &ds), EINVAL, "IPC_STAT on a removed queue");

	/* Keys, limits */
	key_t key = 0x4e4f0000 | (getpid() & 0xffff);
	int k1 = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	check(k1 >= 0, "msgget(key, IPC_CREAT | IPC_EXCL)");
	EXPECT_ERR(msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST, "msgget(same key, IPC_EXCL)");
	check(msgget(key, 0) == k1, "msgget(key) finds it");
	struct msginfo mi;
	check(msgctl(0, IPC_INFO, (struct msqid_ds *)&mi) >= 0 && mi.msgmax == 8192 && mi.msgmnb == 16384 && mi.msgmni == 32000 && mi.msgssz == 16,
	      "IPC_INFO: MSGMAX 8192, MSGMNB 16384, MSGMNI 32000");
	EXPECT_ERR(msgctl(k1, 12345, &ds), EINVAL, "msgctl(unknown command)");
	check(msgctl(k1, IPC_RMID, NULL) == 0, "IPC_RMID(keyed)");
	EXPECT_ERR(msgget(key, 0), ENOENT, "the key is gone");
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "exec-child") == 0)
		return exec_child(argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	shared_memory(argv[0]);
	semaphores();
	message_queues();
	if (failures) {
		printf("sysv_ipc: %d failures\n", failures);
		return 1;
	}
	printf("sysv_ipc ok\n");
	return 0;
}
