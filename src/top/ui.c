/* ui.c — a key → the UI state (struct top_ui in top.h). Pure: no I/O, no clock, no snapshot
 * kept; the caller passes the rows on screen with each key.
 *
 * Modes and keys (keep the help screen in step):
 *   everywhere            Ctrl-C (and Ctrl-\) quit; F10 quits
 *   TABLE, DETAIL         q quit; j/k Down/Up move; PgDn/PgUp a page; Home/g End/G
 *                         s next sort key (load, then each column in order, then load again);
 *                         S or r reverse; f or / filter; v or Tab next view, Shift-Tab previous,
 *                         1..4 a view; p pause; ? h F1 help
 *   TABLE                 Enter (or Right) on a row: DETAIL of that row; Esc quits
 *   DETAIL                Esc, Enter, Left, Backspace: back to TABLE; moving the selection moves
 *                         the detail to the newly selected row
 *   FILTER                printable characters are typed (q too); Backspace deletes; Enter
 *                         applies the filter; Esc cancels the edit
 *   HELP                  q quits; any other key goes back to TABLE
 *
 * Invariants after every call: selected < nr_rows (0 with no rows), scroll <= selected <
 * scroll + visible, and scroll <= nr_rows - visible when there are more rows than lines (no
 * empty lines under the last row while rows are above the screen). Changing the view, the sort
 * or the filter puts the selection on the first row: the rows are a different list.
 */
#include <string.h>

#include "top/ui.h"

void top_ui_init(struct top_ui *ui)
{
	memset(ui, 0, sizeof(*ui));
	ui->view = TOP_VIEW_PROCESS;
	ui->mode = TOP_MODE_TABLE;
	ui->sort = TOP_SORT_LOAD;
}

void top_ui_clamp(struct top_ui *ui, size_t nr_rows, int table_rows_visible)
{
	size_t visible = table_rows_visible > 0 ? (size_t)table_rows_visible : 1;

	if (!nr_rows) {
		ui->selected = 0;
		ui->scroll = 0;
		return;
	}
	if (ui->selected >= nr_rows)
		ui->selected = nr_rows - 1;
	if (nr_rows <= visible)
		ui->scroll = 0;
	else if (ui->scroll > nr_rows - visible)
		ui->scroll = nr_rows - visible;
	if (ui->selected < ui->scroll)
		ui->scroll = ui->selected;
	else if (ui->selected >= ui->scroll + visible)
		ui->scroll = ui->selected - visible + 1;
}

/* Back to the first row of a new list. */
static void ui_top_of_list(struct top_ui *ui)
{
	ui->selected = 0;
	ui->scroll = 0;
}

static void ui_set_view(struct top_ui *ui, enum top_view view)
{
	if (view != ui->view)
		ui_top_of_list(ui);
	ui->view = view;
	ui->mode = TOP_MODE_TABLE;
}

/* FILTER mode: the line editor. */
static void ui_filter_key(struct top_ui *ui, int key)
{
	size_t n = strlen(ui->edit);

	if (key >= 0x20 && key < 0x7f) {
		if (n + 1 < sizeof(ui->edit)) {
			ui->edit[n] = (char)key;
			ui->edit[n + 1] = '\0';
		}
	} else if (key == TOP_KEY_BACKSPACE) {
		if (n)
			ui->edit[n - 1] = '\0';
	} else if (key == TOP_KEY_ENTER) {
		memcpy(ui->filter, ui->edit, sizeof(ui->filter));
		ui->edit[0] = '\0';
		ui->mode = TOP_MODE_TABLE;
		ui_top_of_list(ui);
	} else if (key == TOP_KEY_ESC) {
		ui->edit[0] = '\0';
		ui->mode = TOP_MODE_TABLE;
	}
}

/* Selection moves (TABLE and DETAIL). True when the key was one. */
static bool ui_move_key(struct top_ui *ui, int key, size_t nr, size_t visible)
{
	size_t last = nr ? nr - 1 : 0;

	switch (key) {
	case 'j':
	case TOP_KEY_DOWN:
		if (ui->selected < last)
			ui->selected++;
		break;
	case 'k':
	case TOP_KEY_UP:
		if (ui->selected)
			ui->selected--;
		break;
	case TOP_KEY_PGDN:      /* the page scrolls with the selection, as in htop */
		ui->selected = ui->selected + visible < last ? ui->selected + visible : last;
		ui->scroll += visible;
		break;
	case TOP_KEY_PGUP:
		ui->selected -= ui->selected < visible ? ui->selected : visible;
		ui->scroll -= ui->scroll < visible ? ui->scroll : visible;
		break;
	case 'g':
	case TOP_KEY_HOME:
		ui->selected = 0;
		break;
	case 'G':
	case TOP_KEY_END:
		ui->selected = last;
		break;
	default:
		return false;
	}
	top_ui_clamp(ui, nr, (int)visible);
	return true;
}

void top_ui_key(struct top_ui *ui, int key, const struct top_snapshot *rows_shown,
		int table_rows_visible)
{
	size_t nr = rows_shown ? rows_shown->nr_rows : 0;
	size_t visible = table_rows_visible > 0 ? (size_t)table_rows_visible : 1;

	if (key == TOP_KEY_CTRL_C || key == TOP_KEY_F(10)) {
		ui->quit = true;
		return;
	}
	if (key == TOP_KEY_RESIZE) {
		top_ui_clamp(ui, nr, (int)visible);
		return;
	}
	switch (ui->mode) {
	case TOP_MODE_FILTER:
		ui_filter_key(ui, key);
		return;
	case TOP_MODE_HELP:
		if (key == 'q')
			ui->quit = true;
		else if (key != TOP_KEY_NONE && key != TOP_KEY_REDRAW)
			ui->mode = TOP_MODE_TABLE;
		return;
	case TOP_MODE_DETAIL:
		if (key == TOP_KEY_ESC || key == TOP_KEY_ENTER || key == TOP_KEY_LEFT ||
		    key == TOP_KEY_BACKSPACE) {
			ui->mode = TOP_MODE_TABLE;
			return;
		}
		if (ui_move_key(ui, key, nr, visible)) {
			if (ui->selected < nr)
				ui->detail_id = rows_shown->rows[ui->selected].id;
			return;
		}
		break;
	case TOP_MODE_TABLE:
		if (key == TOP_KEY_ESC) {
			ui->quit = true;
			return;
		}
		if ((key == TOP_KEY_ENTER || key == TOP_KEY_RIGHT) && ui->selected < nr) {
			ui->detail_id = rows_shown->rows[ui->selected].id;
			ui->mode = TOP_MODE_DETAIL;
			return;
		}
		if (ui_move_key(ui, key, nr, visible))
			return;
		break;
	}

	/* keys of TABLE and DETAIL alike */
	if (key >= '1' && key < '1' + TOP_VIEW_COUNT) {
		ui_set_view(ui, (enum top_view)(key - '1'));
		return;
	}
	switch (key) {
	case 'q':
		ui->quit = true;
		break;
	case 's':
		ui->sort = ui->sort + 1 >= TOP_COL_COUNT ? TOP_SORT_LOAD : ui->sort + 1;
		ui_top_of_list(ui);
		break;
	case 'S':
	case 'r':
		ui->ascending = !ui->ascending;
		ui_top_of_list(ui);
		break;
	case 'f':
	case '/':
		memcpy(ui->edit, ui->filter, sizeof(ui->edit));
		ui->mode = TOP_MODE_FILTER;
		break;
	case 'v':
	case TOP_KEY_TAB:
		ui_set_view(ui, (ui->view + 1) % TOP_VIEW_COUNT);
		break;
	case TOP_KEY_BTAB:
		ui_set_view(ui, (ui->view + TOP_VIEW_COUNT - 1) % TOP_VIEW_COUNT);
		break;
	case 'p':
		ui->paused = !ui->paused;
		break;
	case '?':
	case 'h':
	case TOP_KEY_F1:
		ui->mode = TOP_MODE_HELP;
		break;
	}
}
