/*
 * run.c - runs every unit test suite.  CK_RUN_SUITE=report runs one.
 */
#include <stdlib.h>

#include "fixture.h"

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	sr = srunner_create(suite_buf());
	srunner_add_suite(sr, suite_config());
	srunner_add_suite(sr, suite_jscan());
	srunner_add_suite(sr, suite_report());
	srunner_add_suite(sr, suite_record());
	srunner_add_suite(sr, suite_http());
	srunner_add_suite(sr, suite_connlimit());
	srunner_add_suite(sr, suite_lingering());
	srunner_add_suite(sr, suite_sink());
	srunner_add_suite(sr, suite_sink_exec());
	srunner_add_suite(sr, suite_dedup());
	srunner_add_suite(sr, suite_log());
	srunner_add_suite(sr, suite_auth());
	srunner_add_suite(sr, suite_metrics());
	srunner_add_suite(sr, suite_sns());
	srunner_add_suite(sr, suite_postgres());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
