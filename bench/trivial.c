/* The baseline for bench/api-cost: the cheapest possible C CGI program
 * that answers a small JSON body. */
#include <stdio.h>

int main(void)
{
	fputs("Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
	      "{\"success\": true}\n",
	      stdout);
	return 0;
}
