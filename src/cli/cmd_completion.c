/*
 * fleet completion bash|zsh|fish: completion scripts generated from the command tables
 * (main.c's families, each family's verbs, each verb's flags, the global options), so
 * they offer exactly what exists.
 *
 * The three scripts share one model. The words typed so far give a place, FAMILY/VERB
 * ("/" before the family, "inventory/" before the verb, "inventory/list" after it);
 * options met on the way are skipped with their value when they take one. At a place the
 * script offers its words (families, verbs, flags); after a flag that takes a value, the
 * value: one of its choices when the flag's argument lists them ("dot|mermaid"), else a
 * file name.
 */
#include "cli/cli.h"
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

static const struct cli_flag help_flag = {"help", 'h', NULL, "show this help"};
static const struct cli_flag version_flag = {"version", 0, NULL, "print the version"};

/* Whether a verb of the family takes the global option (only then is it offered before
 * the verb). */
static int family_takes(const struct cli_family *fam, const struct cli_flag *g)
{
	for (const struct cli_verb *v = fam->verbs; v && v->name; v++)
		for (const struct cli_flag *f = v->cmd ? v->cmd->flags : NULL; f && f->name; f++)
			if (!strcmp(f->name, g->name))
				return 1;
	return 0;
}

/* A place's flags, in order: its own table, then (before a verb) the global options. */
struct place {
	const char *fam, *verb;
	const struct cli_flag *own;     /* a command's flags, or NULL */
	const struct cli_family *front; /* before this family's verb: its global options */
	int top;                        /* before the family: all global options, --version */
};

typedef void (*flag_fn)(FILE *out, const struct place *pl, const struct cli_flag *f);

static void each_flag(FILE *out, const struct place *pl, flag_fn fn)
{
	for (const struct cli_flag *f = pl->own; f && f->name; f++)
		fn(out, pl, f);
	for (const struct cli_flag *g = cli_global_flags; (pl->top || pl->front) && g->name; g++)
		if (pl->top || family_takes(pl->front, g))
			fn(out, pl, g);
	if (pl->top)
		fn(out, pl, &version_flag);
	fn(out, pl, &help_flag);
}

/* The value choices of a flag ("dot|mermaid" → "dot mermaid"), or NULL for a file. */
static const char *choices(const struct cli_flag *f, char *buf, size_t cap)
{
	if (!f->arg || !strchr(f->arg, '|') || strlen(f->arg) >= cap)
		return NULL;
	for (const char *s = f->arg; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '|' ||
		      *s == '-' || *s == '_'))
			return NULL; /* not a list of literal words ("a,b", "USER@HOST") */
	snprintf(buf, cap, "%s", f->arg);
	for (char *s = buf; *s; s++)
		if (*s == '|')
			*s = ' ';
	return buf;
}

/* Single-quoted for the shells ('…'\''…'). */
static void put_quoted(FILE *out, const char *s)
{
	fputc('\'', out);
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", out);
		else
			fputc(*s, out);
	fputc('\'', out);
}

/* Calls fn for every place: the top, each family before its verb, each verb, and
 * `fleet help` with its family and verb words. */
typedef void (*place_fn)(FILE *out, const struct place *pl, const char *const *words,
                         const char *const *summaries);

static void each_place(FILE *out, place_fn fn)
{
	const char *words[64], *sums[64];
	size_t n = 0;
	for (const struct cli_family *f = cli_families; f->name && n < 62; f++, n++) {
		words[n] = f->name;
		sums[n] = f->summary;
	}
	words[n] = "help";
	sums[n++] = "show the help of a command: fleet help FAMILY [VERB]";
	words[n] = NULL;
	struct place top = {"", "", NULL, NULL, 1};
	fn(out, &top, words, sums);
	words[n - 1] = NULL; /* after `fleet help`: the families */
	struct place help = {"help", "", NULL, NULL, 0};
	fn(out, &help, words, sums);
	for (const struct cli_family *f = cli_families; f->name; f++) {
		size_t k = 0;
		for (const struct cli_verb *v = f->verbs; v && v->name && k < 63; v++, k++) {
			words[k] = v->name;
			sums[k] = v->summary;
		}
		words[k] = NULL;
		struct place fam = {f->name, "", f->cmd ? f->cmd->flags : NULL, f->verbs ? f : NULL,
		                    0};
		fn(out, &fam, words, sums);
		struct place after_help = {"help", f->name, NULL, NULL, 0};
		if (k)
			fn(out, &after_help, words, sums);
		const char *none[] = {NULL};
		for (const struct cli_verb *v = f->verbs; v && v->name; v++) {
			struct place verb = {f->name, v->name, v->cmd ? v->cmd->flags : NULL, NULL,
			                     0};
			fn(out, &verb, none, none);
		}
	}
}

/* ---- bash ---------------------------------------------------------------------------- */

static void bash_word(FILE *out, const struct place *pl, const struct cli_flag *f)
{
	if (f->id > 0 && f->id < 256)
		fprintf(out, " -%c", f->id);
	fprintf(out, " --%s", f->name);
}

static void bash_words(FILE *out, const struct place *pl, const char *const *words,
                       const char *const *sums)
{
	fprintf(out, "\t\"%s/%s\") w='", pl->fam, pl->verb);
	for (size_t i = 0; words[i]; i++)
		fprintf(out, "%s%s", i ? " " : "", words[i]);
	each_flag(out, pl, bash_word);
	fputs("' ;;\n", out);
}

static void bash_arg(FILE *out, const struct place *pl, const struct cli_flag *f)
{
	char buf[128];
	if (!f->arg)
		return;
	const char *c = choices(f, buf, sizeof(buf));
	fprintf(out, "\t\"%s/%s/--%s\"", pl->fam, pl->verb, f->name);
	if (f->id > 0 && f->id < 256)
		fprintf(out, " | \"%s/%s/-%c\"", pl->fam, pl->verb, f->id);
	fprintf(out, ") REPLY='%s' ;;\n", c ? c : "@files");
}

static void bash_args(FILE *out, const struct place *pl, const char *const *words,
                      const char *const *sums)
{
	each_flag(out, pl, bash_arg);
}

static int completion_bash(int argc, char **argv);
static int completion_zsh(int argc, char **argv);
static int completion_fish(int argc, char **argv);

static const struct cli_command bash_cmd = {
    "completion bash", "",
    "Print the bash completion script: source it, or install it as "
    "/usr/share/bash-completion/completions/fleet.",
    NULL, NULL};
static const struct cli_command zsh_cmd = {
    "completion zsh", "",
    "Print the zsh completion script: install it as _fleet in a directory of $fpath (before "
    "compinit), or source it after compinit.",
    NULL, NULL};
static const struct cli_command fish_cmd = {"completion fish", "",
                                            "Print the fish completion script: install it as "
                                            "~/.config/fish/completions/fleet.fish, or source it.",
                                            NULL, NULL};

/* No flags but --help, no arguments. */
static int no_args(const struct cli_command *cmd, int argc, char **argv)
{
	struct cli_parser p;
	int c;
	cli_parser_init(&p, cmd, argc, argv);
	while ((c = cli_next_flag(&p)) != -1)
		return c == CLI_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (p.argc - p.optind > 0)
		return cli_usage_error(cmd, "unexpected argument '%s'", p.argv[p.optind]);
	return -1;
}

static int completion_bash(int argc, char **argv)
{
	int rc = no_args(&bash_cmd, argc, argv);
	if (rc >= 0)
		return rc;
	FILE *out = stdout;
	fputs("# bash completion for fleet(1), generated by `fleet completion bash` from its\n"
	      "# command tables.\n"
	      "\n"
	      "# _fleet_words FAMILY VERB: the words offered there, in REPLY.\n"
	      "_fleet_words() {\n"
	      "\tlocal w=\n"
	      "\tcase \"$1/$2\" in\n",
	      out);
	each_place(out, bash_words);
	fputs("\tesac\n"
	      "\tREPLY=$w\n"
	      "}\n"
	      "\n"
	      "# _fleet_arg FAMILY VERB OPTION: REPLY is - when OPTION takes no value there, else\n"
	      "# its choices, or @files.\n"
	      "_fleet_arg() {\n"
	      "\tREPLY=-\n"
	      "\tcase \"$1/$2/$3\" in\n",
	      out);
	each_place(out, bash_args);
	fputs("\tesac\n"
	      "}\n"
	      "\n"
	      "_fleet() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} fam= verb= i w REPLY\n"
	      "\tCOMPREPLY=()\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tw=${COMP_WORDS[i]}\n"
	      "\t\tif [[ $w == -* ]]; then\n"
	      "\t\t\t[[ $w == *=* ]] && continue\n"
	      "\t\t\t_fleet_arg \"$fam\" \"$verb\" \"$w\"\n"
	      "\t\t\t[[ $REPLY == - ]] && continue\n"
	      "\t\t\tif ((i + 1 == COMP_CWORD)); then\n"
	      "\t\t\t\t[[ $REPLY == @files ]] && return 0 # bash's file names (-o default)\n"
	      "\t\t\t\tCOMPREPLY=($(compgen -W \"$REPLY\" -- \"$cur\"))\n"
	      "\t\t\t\treturn 0\n"
	      "\t\t\tfi\n"
	      "\t\t\t((i++))\n"
	      "\t\telif [[ -z $fam ]]; then\n"
	      "\t\t\tfam=$w\n"
	      "\t\telif [[ -z $verb ]]; then\n"
	      "\t\t\tverb=$w\n"
	      "\t\tfi\n"
	      "\tdone\n"
	      "\t_fleet_words \"$fam\" \"$verb\"\n"
	      "\tCOMPREPLY=($(compgen -W \"$REPLY\" -- \"$cur\"))\n"
	      "}\n"
	      "\n"
	      "complete -o default -F _fleet fleet\n",
	      out);
	return CLI_EXIT_OK;
}

/* ---- zsh ----------------------------------------------------------------------------- */

static void zsh_flag(FILE *out, const struct place *pl, const struct cli_flag *f)
{
	char word[512];
	if (f->id > 0 && f->id < 256) {
		snprintf(word, sizeof(word), "-%c:%s", f->id, f->help);
		fputs("\n\t\t", out);
		put_quoted(out, word);
	}
	snprintf(word, sizeof(word), "--%s:%s", f->name, f->help);
	fputs("\n\t\t", out);
	put_quoted(out, word);
}

static void zsh_words(FILE *out, const struct place *pl, const char *const *words,
                      const char *const *sums)
{
	fprintf(out, "\t(\"%s/%s\") reply=(", pl->fam, pl->verb);
	for (size_t i = 0; words[i]; i++) {
		char w[512];
		snprintf(w, sizeof(w), "%s:%s", words[i], sums[i]);
		fputs("\n\t\t", out);
		put_quoted(out, w);
	}
	each_flag(out, pl, zsh_flag);
	fputs(") ;;\n", out);
}

static int completion_zsh(int argc, char **argv)
{
	int rc = no_args(&zsh_cmd, argc, argv);
	if (rc >= 0)
		return rc;
	FILE *out = stdout;
	fputs("#compdef fleet\n"
	      "# zsh completion for fleet(1), generated by `fleet completion zsh` from its\n"
	      "# command tables.\n"
	      "\n"
	      "# _fleet_words FAMILY VERB: the words offered there, as word:description in reply.\n"
	      "_fleet_words() {\n"
	      "\treply=()\n"
	      "\tcase \"$1/$2\" in\n",
	      out);
	each_place(out, zsh_words);
	fputs("\tesac\n"
	      "}\n"
	      "\n"
	      "# _fleet_arg FAMILY VERB OPTION: REPLY is - when OPTION takes no value there, else\n"
	      "# its choices, or @files.\n"
	      "_fleet_arg() {\n"
	      "\tREPLY=-\n"
	      "\tcase \"$1/$2/$3\" in\n",
	      out);
	each_place(out, bash_args); /* the same case syntax */
	fputs("\tesac\n"
	      "}\n"
	      "\n"
	      "_fleet() {\n"
	      "\tlocal fam= verb= i w REPLY\n"
	      "\tlocal -a reply\n"
	      "\tfor ((i = 2; i < CURRENT; i++)); do\n"
	      "\t\tw=${words[i]}\n"
	      "\t\tif [[ $w == -* ]]; then\n"
	      "\t\t\t[[ $w == *=* ]] && continue\n"
	      "\t\t\t_fleet_arg \"$fam\" \"$verb\" \"$w\"\n"
	      "\t\t\t[[ $REPLY == - ]] && continue\n"
	      "\t\t\tif ((i + 1 == CURRENT)); then\n"
	      "\t\t\t\tif [[ $REPLY == @files ]]; then\n"
	      "\t\t\t\t\t_files\n"
	      "\t\t\t\telse\n"
	      "\t\t\t\t\tcompadd -- ${=REPLY}\n"
	      "\t\t\t\tfi\n"
	      "\t\t\t\treturn\n"
	      "\t\t\tfi\n"
	      "\t\t\t((i++))\n"
	      "\t\telif [[ -z $fam ]]; then\n"
	      "\t\t\tfam=$w\n"
	      "\t\telif [[ -z $verb ]]; then\n"
	      "\t\t\tverb=$w\n"
	      "\t\tfi\n"
	      "\tdone\n"
	      "\t_fleet_words \"$fam\" \"$verb\"\n"
	      "\t((${#reply})) && _describe -t commands fleet reply\n"
	      "\t[[ -n $verb || $fam == age ]] && _files\n"
	      "}\n"
	      "\n"
	      "if [[ $funcstack[1] == _fleet ]]; then\n"
	      "\t_fleet \"$@\"\n"
	      "elif (($+functions[compdef])); then\n"
	      "\tcompdef _fleet fleet\n"
	      "fi\n",
	      out);
	return CLI_EXIT_OK;
}

/* ---- fish ---------------------------------------------------------------------------- */

static void fish_skip(FILE *out, const struct place *pl, const struct cli_flag *f)
{
	if (!f->arg)
		return;
	fprintf(out, " '%s:--%s'", pl->fam, f->name);
	if (f->id > 0 && f->id < 256)
		fprintf(out, " '%s:-%c'", pl->fam, f->id);
}

static void fish_skips(FILE *out, const struct place *pl, const char *const *words,
                       const char *const *sums)
{
	if (!pl->verb[0] && (pl->top || pl->own || pl->front))
		each_flag(out, pl, fish_skip);
}

static void fish_flag(FILE *out, const struct place *pl, const struct cli_flag *f)
{
	char buf[128];
	fprintf(out, "complete -c fleet -n '__fleet_at \"%s\" \"%s\"'", pl->fam, pl->verb);
	if (f->id > 0 && f->id < 256)
		fprintf(out, " -s %c", f->id);
	fprintf(out, " -l %s", f->name);
	if (f->arg) {
		const char *c = choices(f, buf, sizeof(buf));
		if (c)
			fprintf(out, " -x -a '%s'", c);
		else
			fputs(" -r -F", out);
	}
	fputs(" -d ", out);
	put_quoted(out, f->help);
	fputc('\n', out);
}

static void fish_words(FILE *out, const struct place *pl, const char *const *words,
                       const char *const *sums)
{
	for (size_t i = 0; words[i]; i++) {
		fprintf(out, "complete -c fleet -n '__fleet_at \"%s\" \"%s\"' -a %s -d ", pl->fam,
		        pl->verb, words[i]);
		put_quoted(out, sums[i]);
		fputc('\n', out);
	}
	if (strcmp(pl->fam, "help") != 0)
		each_flag(out, pl, fish_flag);
}

static int completion_fish(int argc, char **argv)
{
	int rc = no_args(&fish_cmd, argc, argv);
	if (rc >= 0)
		return rc;
	FILE *out = stdout;
	fputs("# fish completion for fleet(1), generated by `fleet completion fish` from its\n"
	      "# command tables.\n"
	      "\n"
	      "# __fleet_place: FAMILY/VERB of the command line (options skipped with their\n"
	      "# values).\n"
	      "function __fleet_place\n"
	      "\tset -l tokens (commandline -opc)\n"
	      "\tset -l fam ''\n"
	      "\tset -l verb ''\n"
	      "\tset -l skip 0\n"
	      "\tfor w in $tokens[2..-1]\n"
	      "\t\tif test $skip = 1\n"
	      "\t\t\tset skip 0\n"
	      "\t\t\tcontinue\n"
	      "\t\tend\n"
	      "\t\tif test -n \"$verb\"\n"
	      "\t\t\tbreak\n"
	      "\t\tend\n"
	      "\t\tswitch \"$fam:$w\"\n"
	      "\t\t\tcase",
	      out);
	each_place(out, fish_skips);
	fputs("\n"
	      "\t\t\t\tset skip 1\n"
	      "\t\t\tcase '*:-*'\n"
	      "\t\t\tcase '*'\n"
	      "\t\t\t\tif test -z \"$fam\"\n"
	      "\t\t\t\t\tset fam $w\n"
	      "\t\t\t\telse\n"
	      "\t\t\t\t\tset verb $w\n"
	      "\t\t\t\tend\n"
	      "\t\tend\n"
	      "\tend\n"
	      "\techo \"$fam/$verb\"\n"
	      "end\n"
	      "\n"
	      "function __fleet_at\n"
	      "\ttest (__fleet_place) = \"$argv[1]/$argv[2]\"\n"
	      "end\n"
	      "\n"
	      "# File names after the verb, and for age's input file; nowhere else.\n"
	      "complete -c fleet -f\n"
	      "complete -c fleet -n 'string match -q -r \"^(age/|[^/]+/.)\" (__fleet_place)' -F\n",
	      out);
	each_place(out, fish_words);
	return CLI_EXIT_OK;
}

const struct cli_verb cmd_completion_verbs[] = {
    {"bash", completion_bash, "print the bash completion script", &bash_cmd},
    {"zsh", completion_zsh, "print the zsh completion script", &zsh_cmd},
    {"fish", completion_fish, "print the fish completion script", &fish_cmd},
    {NULL, NULL, NULL, NULL},
};

int cmd_completion_main(int argc, char **argv)
{
	return cli_dispatch(
	    "completion", "Print a shell completion script, generated from fleet's command tables.",
	    cmd_completion_verbs, argc, argv);
}
