/* Identity and process relations: getuid/geteuid/getgid/getegid/getgroups
 * and getresuid/getresgid agree with each other, setuid/setgid to self,
 * setfsuid/setfsgid and setgroups(0, NULL),
 * uname's sysname and machine, pid/ppid facts seen from a forked child,
 * getpgid/getsid/setsid in a child, and a umask round trip. Ids and pids
 * themselves are not printed, only relations between them. Exit 1 if any
 * check fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"

static void ids(void)
{
	uid_t uid = getuid(), euid = geteuid();
	gid_t gid = getgid(), egid = getegid();
	printf("uid==euid: %d, gid==egid: %d, root: %d\n", uid == euid, gid == egid, euid == 0);
	uid_t r, e, s;
	gid_t gr, ge, gs;
	check(getresuid(&r, &e, &s) == 0 && r == uid && e == euid && s == euid, "getresuid agrees, saved == effective");
	check(getresgid(&gr, &ge, &gs) == 0 && gr == gid && ge == egid && gs == egid, "getresgid agrees, saved == effective");
	int n = getgroups(0, NULL);
	check(n >= 0, "getgroups(0, NULL) counts the groups");
	gid_t groups[256];
	check(n <= 256 && getgroups(n, groups) == n, "getgroups fills that many");
	EXPECT_ERR(syscall(SYS_getgroups, -1, groups), EINVAL, "getgroups size -1");
	check(setuid(uid) == 0 && getuid() == uid && geteuid() == euid, "setuid to self");
	check(setgid(gid) == 0 && getgid() == gid && getegid() == egid, "setgid to self");
	check(seteuid(euid) == 0 && setegid(egid) == 0, "seteuid/setegid to self");
	check(setresuid(-1, -1, -1) == 0 && setresgid(-1, -1, -1) == 0, "setresuid/setresgid with -1 change nothing");
	check(getuid() == uid && geteuid() == euid && getgid() == gid && getegid() == egid, "ids unchanged");
	/* setfsuid/setfsgid answer the old filesystem id, which is the effective one. */
	check(setfsuid(-1) == (int)euid && setfsgid(-1) == (int)egid, "setfsuid/setfsgid(-1) answer the effective ids");
	check(setfsuid(euid) == (int)euid && setfsgid(egid) == (int)egid, "setfsuid/setfsgid to self");
	/* setgroups(0, NULL) needs privilege; it empties the list. */
	errno = 0;
	int emptied = setgroups(0, NULL);
	check(euid == 0 ? emptied == 0 && getgroups(0, NULL) == 0 : emptied == -1 && errno == EPERM,
	      "setgroups(0, NULL): root empties the list, others get EPERM");
	EXPECT_ERR(syscall(SYS_setgroups, -1, groups), EINVAL, "setgroups size -1");
	EXPECT_ERR(syscall(SYS_getresuid, (void *)1, &e, &s), EFAULT, "getresuid into (void*)1");
}

static void names(void)
{
	struct utsname u;
	check(uname(&u) == 0, "uname");
	printf("sysname=%s machine=%s\n", u.sysname, u.machine);
	check(strlen(u.release) > 0 && strlen(u.nodename) > 0, "release and nodename are not empty");
	EXPECT_ERR(syscall(SYS_uname, (void *)1), EFAULT, "uname into (void*)1");
}

static void relations(void)
{
	pid_t self = getpid(), parent = getppid();
	check(self > 0 && parent >= 0 && self != parent, "pid > 0 and differs from ppid");
	check(syscall(SYS_gettid) == self, "the main thread's tid is the pid");
	check(getpgid(0) == getpgrp() && getpgid(self) == getpgrp(), "getpgid(0) == getpgid(pid) == getpgrp()");
	check(getsid(0) == getsid(self), "getsid(0) == getsid(pid)");
	EXPECT_ERR(getpgid(0x3fffffff), ESRCH, "getpgid of a missing pid");
	EXPECT_ERR(getsid(0x3fffffff), ESRCH, "getsid of a missing pid");
	int p[2];
	check(pipe(p) == 0, "pipe");
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		close(p[0]);
		/* report facts as one line the parent prints, so output order is fixed */
		char line[512];
		pid_t me = getpid();
		int ok_ppid = getppid() == self;
		int same_pgrp = getpgrp() == getpgid(self);
		int same_sid = getsid(0) == getsid(self);
		int was_leader = getpgrp() == me;
		pid_t sid = setsid();
		int sid_ok = sid == me && getsid(0) == me && getpgrp() == me;
		errno = 0;
		int again = setsid();
		int again_err = errno;
		int pg = setpgid(0, 0);
		int pg_err = errno;
		snprintf(line, sizeof line,
			 "child: ppid==parent %d, same pgrp %d, same session %d, group leader %d, setsid -> new session and group %d, setsid again %d %s, setpgid in own session %d %s\n",
			 ok_ppid, same_pgrp, same_sid, was_leader, sid_ok, again, errname(again_err), pg, errname(pg == 0 ? 0 : pg_err));
		write(p[1], line, strlen(line));
		_exit(0);
	}
	close(p[1]);
	char buf[512];
	ssize_t n = read(p[0], buf, sizeof buf);
	close(p[0]);
	int status;
	check(child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status), "child exited");
	printf("%.*s", n > 0 ? (int)n : 0, buf);
	check(child != self && child != parent, "child pid differs from ours and our parent's");
	EXPECT_ERR(waitpid(child, &status, 0), ECHILD, "waiting for it again");
}

/* no_new_privs: off, then set for good; a forked child has it too. */
static void no_new_privs(void)
{
	check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0, "PR_GET_NO_NEW_PRIVS: 0 at first");
	EXPECT_ERR(prctl(PR_SET_NO_NEW_PRIVS, 2, 0, 0, 0), EINVAL, "PR_SET_NO_NEW_PRIVS with 2");
	EXPECT_ERR(prctl(PR_GET_NO_NEW_PRIVS, 1, 0, 0, 0), EINVAL, "PR_GET_NO_NEW_PRIVS with an argument");
	check(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1,
	      "PR_SET_NO_NEW_PRIVS, then PR_GET_NO_NEW_PRIVS: 1");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		_exit(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 ? 0 : 1);
	int st = 0;
	check(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child has it too");
}

static void masks(void)
{
	mode_t old = umask(027);
	mode_t back = umask(old);
	printf("umask round trip: set 027, read %03o\n", (unsigned)back);
	check(umask(old) == old, "umask restored");
	umask(0777 | 07000);
	printf("umask keeps only permission bits: %03o\n", (unsigned)umask(022));
}

int main(void)
{
	ids();
	names();
	relations();
	masks();
	no_new_privs();
	printf("%s\n", failures ? "identity FAILED" : "identity ok");
	return failures ? 1 : 0;
}
